# No freeze under the firewall's lock (issue 10, item 1).
#
# Spending a token checks its scope, and a token issued with
# agent => 'deletion_firewall_agent' makes that check read role memberships:
# catalog access, which may wait on a heavyweight lock on pg_auth_members.
# That wait must happen with the firewall's LWLock free: otherwise every
# confirm(), every reader of the views and the waiting agent itself hang
# with interrupts held off, and cancel and terminate do nothing.
#
# The scenario of the issue, made deterministic:
#   - a superuser agent (sa, tagged) whose session did SET SESSION
#     AUTHORIZATION to another role (bob), with a token issued with
#     agent => 'deletion_firewall_agent' set;
#   - its slow DELETE of 300 rows (max_rows 100: it needs the token) stops
#     at row 50 on an advisory lock a human holds (public.gate()), so that
#     the rest happens while the statement runs;
#   - an unrelated GRANT is committed, which invalidates the membership
#     caches; a human takes LOCK pg_auth_members IN ACCESS EXCLUSIVE MODE
#     and lets the DELETE go on: the gate opens another table (the agent
#     takes in the invalidation), and at row 101 the token's scope check
#     (dfw_token_spend -> check_scope -> dfw_user_matches_agent ->
#     is_member_of_role_nosuper, seen with gdb) reads pg_auth_members and
#     waits on the human's lock.
# While it waits: confirm() and a read of deletion_firewall.tokens, by the
# human holding the lock and by another human session, complete within
# 5 seconds; pg_cancel_backend() ends the agent's query with 57014.  The
# same again, and the human commits: the agent's DELETE finishes, confirmed
# by its token.
#
# The other human session is opened and used before the lock is taken: a
# session that must read pg_auth_members to learn who it is (a new one)
# waits on the human's lock whatever the firewall does; that is
# PostgreSQL's, not a freeze.

use strict;
use warnings;

use Time::HiRes qw(time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;
use DfwProto;

my $node = DfwTest::node('freeze');
$node->safe_psql(
	'postgres', q{
CREATE ROLE sa SUPERUSER LOGIN;
GRANT deletion_firewall_agent TO sa;
CREATE ROLE unrelated_a;
CREATE ROLE unrelated_b;
CREATE TABLE public.big (id int PRIMARY KEY, note text);
INSERT INTO public.big SELECT g, 'n' || g FROM generate_series(1, 5000) g;
CREATE TABLE public.gate_aux (x int);
INSERT INTO public.gate_aux VALUES (1);
-- a human's function: at row 50 it waits for advisory lock 42 (a human
-- holds it); from row 50 on it reads the size of a table the statement
-- has not opened yet: its lock takes in the catalog invalidations that
-- arrived meanwhile.  Both are plain expressions, not statements of their
-- own once the wait is over: the next thing that reads role memberships is
-- the firewall's decision at row 101, which must spend the token.
CREATE FUNCTION public.gate(id int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF id = 50 THEN
        PERFORM pg_advisory_xact_lock_shared(42);
    END IF;
    RETURN pg_relation_size(CASE WHEN id >= 50 THEN 'public.gate_aux'::regclass
                                 ELSE 'public.big'::regclass END) >= 0;
END $$;
ALTER TABLE public.big OWNER TO bob;
ALTER TABLE public.gate_aux OWNER TO bob;
ALTER FUNCTION public.gate(int) OWNER TO bob;
});

sub count_big
{
	return $node->safe_psql('postgres', 'SELECT count(*) FROM public.big');
}

# A human's session that stays open; each query has 20 seconds at most
# (a frozen backend would otherwise hang the test), and statement_timeout
# is 5 seconds.
sub human_session
{
	my ($user) = @_;
	my $s = $node->background_psql(
		'postgres',
		on_error_stop => 0,
		timeout => 20,
		extra_params => [ '-U', $user ]);
	$s->set_query_timer_restart();
	$s->query_safe('\set VERBOSITY verbose');
	$s->query_safe("SET statement_timeout = '5s'");
	return $s;
}

# Run SQL in a human session: it must complete without error within 5
# seconds.  Returns its output.
sub quick
{
	my ($s, $sql, $name) = @_;
	my $t0 = time;
	my ($out, $err);
	my $ok = eval { ($out, $err) = run_in($s, $sql); 1 };
	my $took = time - $t0;
	if (!$ok)
	{
		fail("$name: it did not complete within 20 seconds (the session hangs): $@");
		return undef;
	}
	is($err, '', "$name: no error");
	cmp_ok($took, '<', 5, sprintf('%s: completes within 5 seconds (%.2f s)', $name, $took));
	return $out;
}

# Poll, in the watcher session, until $sql returns 't' (20 seconds at
# most).  While pg_auth_members is locked, a new session's first statement
# waits on it (the firewall asks who the session is), so the test polls in
# a session it opened and used beforehand.
my $watch;
sub watch_until
{
	my ($sql) = @_;
	for (1 .. 200)
	{
		my $ok = eval { my ($out, $err) = run_in($watch, $sql); $out eq 't' };
		return 1 if $ok;
		select(undef, undef, undef, 0.1);
	}
	return 0;
}

my $token = $node->safe_psql('postgres',
	"SELECT deletion_firewall.confirm(action => 'delete', target => 'public.big', "
	  . "agent => 'deletion_firewall_agent', uses => 1)",
	extra_params => [ '-U', 'alice' ]);
like($token, qr/^dfw_/, 'alice issues a token for agents of deletion_firewall_agent');

# The superuser agent, over the wire protocol (so that a statement can be
# left running), as bob after SET SESSION AUTHORIZATION.
my $agent = DfwProto->connect($node, 'sa');
my $apid = $agent->pid;
my @r;
$agent->query('SET SESSION AUTHORIZATION bob');
@r = $agent->flush;
is(error_of(@r), '', 'the superuser agent sets its session authorization to bob');
$agent->query("SET deletion_firewall.token = '$token'");
@r = $agent->flush;
is(error_of(@r), '', 'the agent sets the token');

# The humans: locker holds the advisory lock and will lock
# pg_auth_members; other is a second human (an approver) used beforehand.
my $locker = human_session('postgres');
my $other = human_session('alice');
$watch = human_session('postgres');

my $delete = 'DELETE FROM public.big WHERE id <= 300 AND public.gate(id)';

# Run the scenario up to the agent's wait on pg_auth_members.
sub freeze_scenario
{
	my ($round) = @_;
	$locker->query_safe('SELECT pg_advisory_lock(42)');
	$agent->query($delete);
	$agent->send;
	ok(watch_until(qq{
SELECT EXISTS (SELECT 1 FROM pg_locks
               WHERE pid = $apid AND NOT granted AND locktype = 'advisory')}),
		"$round: the agent's slow DELETE is under way (at row 50)");

	# an unrelated GRANT, committed: the membership caches are invalid
	$node->safe_psql('postgres', 'GRANT unrelated_a TO unrelated_b');
	$node->safe_psql('postgres', 'REVOKE unrelated_a FROM unrelated_b');

	# the other human uses the firewall before the lock is taken, and the
	# watcher takes in the invalidations too
	quick($other, "SELECT deletion_firewall.confirm('drop', 'public.y*') IS NOT NULL",
		"$round: before the lock, the other human's confirm()");
	quick($watch, 'SELECT count(*) >= 0 FROM deletion_firewall.tokens',
		"$round: before the lock, the watcher reads the tokens");

	$locker->query_safe('BEGIN');
	$locker->query_safe('LOCK pg_auth_members IN ACCESS EXCLUSIVE MODE');
	# the same session lets the DELETE go on: any other session's new
	# transaction would itself wait on pg_auth_members (PostgreSQL's own
	# lock), whatever the firewall does
	$locker->query_safe('SELECT pg_advisory_unlock(42)');
	ok(watch_until(qq{
SELECT EXISTS (SELECT 1 FROM pg_locks
               WHERE pid = $apid AND NOT granted
                 AND relation = 'pg_catalog.pg_auth_members'::regclass)}),
		"$round: the agent's DELETE, needing its token, waits for the lock on pg_auth_members");
}

# ---------------- round 1: cancel the waiting agent ----------------

freeze_scenario('round 1');

my $out = quick($other, "SELECT deletion_firewall.confirm('drop', 'public.x*') IS NOT NULL",
	'round 1: another human\'s confirm() while the agent waits');
is($out, 't', 'round 1: it returns a token');
$out = quick($other, 'SELECT count(*) > 0 FROM deletion_firewall.tokens',
	'round 1: another human reads deletion_firewall.tokens');
is($out, 't', 'round 1: the view lists the tokens');
$out = quick($locker, "SELECT deletion_firewall.confirm('drop', 'public.x*') IS NOT NULL",
	'round 1: the human holding the lock calls confirm()');
is($out, 't', 'round 1: it returns a token');
$out = quick($locker, 'SELECT count(*) > 0 FROM deletion_firewall.tokens',
	'round 1: the human holding the lock reads deletion_firewall.tokens');

is(quick($watch, "SELECT pg_cancel_backend($apid)", 'round 1: pg_cancel_backend()'), 't',
	'round 1: pg_cancel_backend() on the waiting agent');
my $t0 = time;
@r = eval { local $SIG{ALRM} = sub { die "timeout\n" }; alarm 20; my @x = $agent->until_ready; alarm 0; @x };
alarm 0;
like(error_of(@r), qr/^57014: canceling statement due to user request/,
	'round 1: the agent\'s query ends with 57014');
cmp_ok(time - $t0, '<', 5, 'round 1: promptly');
$locker->query_safe('COMMIT');
is(count_big(), '5000', 'round 1: all 5000 rows remain');

# ---------------- round 2: the human commits ----------------

# A fresh token, whatever became of the first one.
$token = $node->safe_psql('postgres',
	"SELECT deletion_firewall.confirm(action => 'delete', target => 'public.big', "
	  . "agent => 'deletion_firewall_agent', uses => 1)",
	extra_params => [ '-U', 'alice' ]);
$agent->query("SET deletion_firewall.token = '$token'");
is(error_of($agent->flush), '', 'round 2: the agent sets a new token');

freeze_scenario('round 2');
$out = quick($other, 'SELECT count(*) > 0 FROM deletion_firewall.tokens',
	'round 2: another human reads deletion_firewall.tokens while the agent waits');
$out = quick($locker, "SELECT deletion_firewall.confirm('drop', 'public.z*') IS NOT NULL",
	'round 2: the human holding the lock calls confirm()');
$locker->query_safe('COMMIT');
@r = eval { local $SIG{ALRM} = sub { die "timeout\n" }; alarm 20; my @x = $agent->until_ready; alarm 0; @x };
alarm 0;
is(error_of(@r) . tags_of(@r), 'DELETE 300',
	'round 2: after COMMIT the agent\'s DELETE finishes, confirmed by its token');
is(count_big(), '4700', 'round 2: 300 rows deleted');

# Everything is free again: a new session reads the views, the agent works.
is($node->safe_psql('postgres', 'SELECT count(*) >= 0 FROM deletion_firewall.events'),
	't', 'a new session reads the views');
$agent->query('DELETE FROM public.big WHERE id <= 1000');
like(error_of($agent->flush), qr/^42501: deletion_firewall refused/,
	'the agent\'s next mass delete is refused: the token was spent');
is(count_big(), '4700', 'rows intact');

$agent->close;
$locker->quit;
$other->quit;
$watch->quit;

done_testing();
