# DfwTest: what the deletion_firewall TAP tests share.
#
#   my $node = DfwTest::node('name');   # started, library preloaded,
#                                       # extension, agent/alice/bob roles
#   DfwTest::node('name', extra_conf => "x = 1\n");   # more postgresql.conf
#   my $s = agent_session();            # background psql as "agent"
#   my ($out, $err) = run_in($s, $sql);
#   my $req = refused($err, 'what');    # asserts 42501 + request id
#   my ($ret, $out, $err) = run_as('bob', $sql);   # a new psql as bob
#   my $err = refused_as('bob', $sql, 'what');     # fails, 42501, firewall
#   exists_table('t')                   # 't' or 'f', public schema
package DfwTest;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use Test::More;
use Exporter 'import';

our @EXPORT = qw(agent_session run_in refused run_as refused_as exists_table);

my $node;

# A started node with the library preloaded, the extension created, an
# agent, an approver (alice) and a plain human (bob).  extra_conf: more
# postgresql.conf lines, written before the start.
sub node
{
	my ($name, %opts) = @_;

	$node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'deletion_firewall'");
	$node->append_conf('postgresql.conf', $opts{extra_conf})
	  if defined $opts{extra_conf};
	$node->start;
	$node->safe_psql('postgres', q{
		CREATE EXTENSION deletion_firewall;
		CREATE ROLE agent LOGIN;
		GRANT deletion_firewall_agent TO agent;
		CREATE ROLE alice LOGIN;
		GRANT deletion_firewall_approver TO alice;
		CREATE ROLE bob LOGIN;
	});
	return $node;
}

sub agent_session
{
	my $s = $node->background_psql(
		'postgres',
		on_error_stop => 0,
		extra_params => [ '-U', 'agent' ]);
	$s->query_safe('\set VERBOSITY verbose');
	return $s;
}

sub run_in
{
	my ($s, $sql) = @_;
	$s->{stderr} = '';
	my $out = $s->query($sql);
	return ($out, $s->{stderr});
}

sub refused
{
	my ($err, $name) = @_;
	like($err, qr/ERROR:\s+42501: deletion_firewall refused/,
		"$name: refused with 42501");
	my ($req) = $err =~ /Request id: (req_[0-9a-f]+)/;
	ok(defined $req, "$name: the refusal gives a request id");
	return $req // 'req_missing';
}

# Run SQL in a new psql session as a user, stopping at the first error;
# return (exit code, stdout, stderr).  Errors show their SQLSTATE
# ("ERROR:  42501: ...").
sub run_as
{
	my ($user, $sql) = @_;
	my ($ret, $out, $err) = $node->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		extra_params => [ '-U', $user ],
		on_error_stop => 1);
	return ($ret, $out, $err);
}

# The statement, run by run_as, must be refused by the firewall: it fails,
# with 42501 and the firewall's message.  Returns stderr.
sub refused_as
{
	my ($user, $sql, $name) = @_;
	my ($ret, $out, $err) = run_as($user, $sql);
	isnt($ret, 0, "$name: fails");
	like($err, qr/ERROR:  42501: deletion_firewall refuse/,
		"$name: refused by the firewall with 42501");
	return $err;
}

sub exists_table
{
	my ($name) = @_;
	return $node->safe_psql('postgres',
		"SELECT to_regclass('public.$name') IS NOT NULL");
}

1;
