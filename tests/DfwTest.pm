# DfwTest: what the deletion_firewall TAP tests share.
#
#   my $node = DfwTest::node('name');   # started, library preloaded,
#                                       # extension, agent/alice/bob roles
#   my $s = agent_session();            # background psql as "agent"
#   my ($out, $err) = run_in($s, $sql);
#   my $req = refused($err, 'what');    # asserts 42501 + request id
#   exists_table('t')                   # 't' or 'f', public schema
package DfwTest;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use Test::More;
use Exporter 'import';

our @EXPORT = qw(agent_session run_in refused exists_table);

my $node;

# A started node with the library preloaded, the extension created, an
# agent, an approver (alice) and a plain human (bob).
sub node
{
	my ($name) = @_;

	$node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'deletion_firewall'");
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

sub exists_table
{
	my ($name) = @_;
	return $node->safe_psql('postgres',
		"SELECT to_regclass('public.$name') IS NOT NULL");
}

1;
