# A logical-replication apply worker whose subscription owner is an agent
# (issue 10, "Also").
#
# Two nodes, both with the library preloaded and the extension created.  On
# the subscriber a human superuser creates the subscription (an agent may
# not: CREATE/ALTER SUBSCRIPTION are tamper refusals, 42501), then hands it
# to a tagged agent role that is a superuser (PostgreSQL 15 wants a
# superuser owner) and restarts it, so that the apply worker runs as the
# agent: its authenticated user is the agent, so by SPEC's definition it is
# an agent session.  The publisher (a human) then runs TRUNCATE of a
# published table and a 500-row DELETE.
#
# Fail closed would be: the replay is refused (a deletion_firewall refusal
# in the subscriber's log), the subscriber keeps its rows, the worker
# retries, and once a human gives the subscription back to a human owner the
# TRUNCATE and DELETE apply.
#
# The apply worker calls ExecuteTruncateGuts() and ExecSimpleRelationDelete()
# directly, past ProcessUtility, the executor hooks and the object access
# hook, so no check of the firewall sees either.  So an apply worker that
# runs as an agent may not commit what it wrote (the pre-commit callback
# refuses it): fail closed, and the worker retries until a human owns the
# subscription.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $pub = PostgreSQL::Test::Cluster->new('publisher');
$pub->init(allows_streaming => 'logical');
$pub->append_conf('postgresql.conf',
	"shared_preload_libraries = 'deletion_firewall'");
$pub->start;

my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
# a failed apply worker is restarted after wal_retrieve_retry_interval
$sub->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'deletion_firewall'
wal_retrieve_retry_interval = 500ms
});
$sub->start;

for my $n ($pub, $sub)
{
	$n->safe_psql('postgres', q{
CREATE EXTENSION deletion_firewall;
CREATE ROLE agent_su LOGIN SUPERUSER;
GRANT deletion_firewall_agent TO agent_su;
CREATE TABLE t (id int PRIMARY KEY, v text);
CREATE TABLE tt (id int PRIMARY KEY);
});
}
$pub->safe_psql('postgres', q{
INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g;
INSERT INTO tt SELECT generate_series(1, 300);
CREATE PUBLICATION p FOR TABLE t, tt;
});

my $conn = $pub->connstr . ' dbname=postgres';

# Run SQL as a user on a node; returns (exit code, stdout, stderr), errors
# with their SQLSTATE.
sub run_as
{
	my ($node, $user, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\n$sql",
		extra_params => [ '-U', $user ],
		on_error_stop => 1);
	return ($ret, $out, $err);
}

sub counts
{
	return $sub->safe_psql('postgres',
		'SELECT (SELECT count(*) FROM t) || \' \' || (SELECT count(*) FROM tt)');
}

sub worker_user
{
	return $sub->safe_psql('postgres', q{
SELECT coalesce(string_agg(a.usename, ','), '')
FROM pg_stat_subscription s JOIN pg_stat_activity a USING (pid)
WHERE s.subname = 's' AND s.relid IS NULL});
}

# --- an agent cannot make or change a subscription ---------------------------

my ($ret, $out, $err) = run_as($sub, 'agent_su',
	"CREATE SUBSCRIPTION s_agent CONNECTION '$conn' PUBLICATION p WITH (connect = false)");
isnt($ret, 0, 'a superuser agent\'s CREATE SUBSCRIPTION fails');
like($err, qr/ERROR:  42501: .*CREATE SUBSCRIPTION/,
	'... refused with 42501, naming CREATE SUBSCRIPTION');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM pg_subscription'),
	'0', '... and no subscription exists');

# the human superuser creates it and it copies the tables
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s CONNECTION '$conn' PUBLICATION p");
$sub->wait_for_subscription_sync($pub, 's');
is(counts(), '1000 300', 'the subscriber has copied both tables');

($ret, $out, $err) = run_as($sub, 'agent_su',
	'ALTER SUBSCRIPTION s OWNER TO agent_su');
isnt($ret, 0, 'the agent\'s ALTER SUBSCRIPTION ... OWNER TO fails');
like($err, qr/ERROR:  42501: deletion_firewall refused changing the owner of a subscription/,
	'... refused with 42501: changing the owner of a subscription');
($ret, $out, $err) = run_as($sub, 'agent_su', 'ALTER SUBSCRIPTION s DISABLE');
like($err, qr/ERROR:  42501: .*ALTER SUBSCRIPTION/,
	'the agent\'s ALTER SUBSCRIPTION ... DISABLE is refused with 42501');
is($sub->safe_psql('postgres', q{
SELECT r.rolname || ' ' || s.subenabled FROM pg_subscription s
JOIN pg_roles r ON r.oid = s.subowner WHERE s.subname = 's'}),
	'postgres true', '... the subscription is still the human\'s, enabled');

# --- a human hands the subscription to the agent ----------------------------

# In PostgreSQL 15 a running worker keeps the user it started with: restart
# it (DISABLE, wait for the worker to go, ENABLE) so that it runs as the owner.
$sub->safe_psql('postgres', q{
ALTER SUBSCRIPTION s OWNER TO agent_su;
ALTER SUBSCRIPTION s DISABLE;
});
$sub->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_subscription WHERE subname = 's' AND pid IS NOT NULL")
  or die 'the apply worker did not stop';
$sub->safe_psql('postgres', 'ALTER SUBSCRIPTION s ENABLE');
$sub->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_subscription WHERE subname = 's' AND pid IS NOT NULL")
  or die 'the apply worker did not start';
is(worker_user(), 'agent_su', 'the apply worker runs as the agent');

# --- the publisher truncates and deletes ------------------------------------

my $log_start = -s $sub->logfile;
$pub->safe_psql('postgres', q{
TRUNCATE tt;
DELETE FROM t WHERE id <= 500;
});
is($pub->safe_psql('postgres',
	'SELECT (SELECT count(*) FROM t) || \' \' || (SELECT count(*) FROM tt)'),
	'500 0', 'the publisher truncated tt and deleted 500 rows of t');

# Wait (bounded: 30 s) until the worker either replayed both changes or was
# refused at least twice (refused, restarted, refused again).
my ($replayed, $refusals, $log) = (0, 0, '');
for (my $waited = 0; $waited < 300; $waited++)
{
	$log = slurp_file($sub->logfile, $log_start);
	$refusals = () = $log =~ /deletion_firewall refused/g;
	$replayed = counts() eq '500 0';
	last if $replayed || $refusals >= 2;
	usleep(100_000);
}
note "after the publisher's TRUNCATE and DELETE: subscriber rows (t tt) = "
  . counts() . ", firewall refusals in its log: $refusals";

like($log, qr/deletion_firewall refused (truncate|delete|replaying changes)/,
	'fail closed: the apply worker\'s replay is refused by the firewall');
is(counts(), '1000 300', 'fail closed: the subscriber keeps its rows');
cmp_ok($refusals, '>=', 2,
	'fail closed: the worker retries and is refused again');

# --- a human gives the subscription back to a human -------------------------

$sub->safe_psql('postgres', q{
ALTER SUBSCRIPTION s OWNER TO postgres;
ALTER SUBSCRIPTION s DISABLE;
});
$sub->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_subscription WHERE subname = 's' AND pid IS NOT NULL")
  or die 'the apply worker did not stop';
$sub->safe_psql('postgres', 'ALTER SUBSCRIPTION s ENABLE');
{
	local $PostgreSQL::Test::Utils::timeout_default = 60;
	ok( $sub->poll_query_until('postgres',
			"SELECT (SELECT count(*) FROM t) = 500 AND (SELECT count(*) FROM tt) = 0"),
		'with a human owner replication resumes: the TRUNCATE and DELETE apply');
}
ok($sub->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_subscription s JOIN pg_stat_activity a USING (pid)
WHERE s.subname = 's' AND s.relid IS NULL AND a.usename = 'postgres'}),
	'... the apply worker runs as the human');
$pub->safe_psql('postgres', "INSERT INTO t VALUES (2000, 'after')");
$pub->wait_for_catchup('s');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id = 2000'),
	'1', '... and later changes arrive');
unlike(slurp_file($sub->logfile, $log_start),
	qr/deletion_firewall refused (truncate|delete)/,
	'the human-owned apply worker is never refused');

done_testing();
