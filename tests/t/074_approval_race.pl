# Two sessions of the same agent login race to spend one any_session
# approval (approve(req, any_session => true), for pooled connections, where
# the retry lands on another backend): exactly one wins, whatever the order,
# whether both are in transactions, whether they race at the same moment or
# wait for each other's row locks; the use is spent when the statement is
# confirmed (a later ROLLBACK does not give it back).
#
# This is TAP and not an isolation spec (tests/specs/approval_race.spec has
# the token race) because an approval is bound to the refused agent, which
# must be the session's login role, and pg_isolation_regress logs every
# session in as the bootstrap superuser.
#
# The statement updates 150 rows (max_rows = 100).  Its text is the same in
# every session (an approval binds the text and the objects); the rows it
# picks come from the session's own setting apr.grp, so two sessions can
# race for the approval without waiting for each other's row locks.  v
# counts how many statements updated each row.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use DfwTest;

# the window would otherwise refuse the later rounds (refusals' rows count)
my $node = DfwTest::node('aprrace',
	extra_conf => "deletion_firewall.window_rows = -1\n");
$node->safe_psql('postgres', q{
CREATE TABLE apr (id int PRIMARY KEY, grp int NOT NULL, v int NOT NULL DEFAULT 0);
INSERT INTO apr (id, grp) SELECT g, CASE WHEN g <= 150 THEN 1 ELSE 2 END
  FROM generate_series(1, 300) g;
ALTER TABLE apr OWNER TO agent;
});

my $STMT =
  q{UPDATE apr SET v = v + 1 WHERE grp = current_setting('apr.grp')::int;};

sub session_for
{
	my ($grp) = @_;
	my $s = agent_session();
	$s->query_safe("SET apr.grp = $grp");
	return $s;
}

# rows updated once, twice or more: "once twice"
sub updated
{
	return $node->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE v = 1) || ' ' || count(*) FILTER (WHERE v > 1) FROM apr});
}

sub approval_live
{
	my ($id) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM deletion_firewall.tokens WHERE token_id = '$id'");
}

# A third session of the agent is refused, and ends; alice approves the
# request for any session of the agent's login.  Returns the approval id.
sub refuse_and_approve
{
	my ($name) = @_;
	my $s0 = session_for(1);
	my ($out, $err) = run_in($s0, $STMT);
	my $req = refused($err, "$name: the statement without confirmation");
	$s0->quit;
	my $apr = $node->safe_psql('postgres',
		"SET ROLE alice; SELECT deletion_firewall.approve('$req', any_session => true)");
	like($apr, qr/^apr_[0-9a-f]+$/, "$name: alice approves $req for any session");
	is(approval_live($apr), '1', "$name: the approval is live");
	$node->safe_psql('postgres', 'UPDATE apr SET v = 0');
	return $apr;
}

# send SQL to a session without waiting; collect() waits for its end and
# returns its stderr
my $tag = 0;
sub send_sql
{
	my ($s, $sql) = @_;
	$tag++;
	$s->{stderr} = '';
	$s->{stdout} = '';
	$s->{stdin} .= "$sql\n\\echo __done_${tag}__\n";
	$s->{run}->pump_nb;
	return "__done_${tag}__";
}
sub collect
{
	my ($s, $t) = @_;
	$s->query_until(qr/$t/, '');
	return $s->{stderr};
}

my $a1 = session_for(1);
my $a2 = session_for(2);
my ($out, $err1, $err2, $apr);

# --- both in open transactions, one after the other ------------------------
$apr = refuse_and_approve('in transactions');
run_in($a1, 'BEGIN');
run_in($a2, 'BEGIN');
($out, $err1) = run_in($a1, $STMT);
is($err1, '', 'in transactions: a1 (another backend than the refused one) spends the approval');
($out, $err2) = run_in($a2, $STMT);
refused($err2, 'in transactions: a2, the same login, same statement');
run_in($a1, 'COMMIT');
run_in($a2, 'COMMIT');
is(updated(), '150 0', 'in transactions: exactly one statement updated its rows');
is(approval_live($apr), '0', 'in transactions: the approval is spent');

# --- a2 first, a1 had already started a transaction ------------------------
$apr = refuse_and_approve('a1 in a transaction');
run_in($a1, 'BEGIN');
($out, $err2) = run_in($a2, $STMT);
is($err2, '', 'a1 in a transaction: a2 (autocommit) spends the approval first');
($out, $err1) = run_in($a1, $STMT);
refused($err1, 'a1 in a transaction: a1');
run_in($a1, 'COMMIT');
is(updated(), '150 0', 'a1 in a transaction: exactly one statement updated its rows');

# --- the same rows: the loser waits for the winner's row locks -------------
$apr = refuse_and_approve('same rows');
run_in($a2, 'SET apr.grp = 1');
run_in($a1, 'BEGIN');
($out, $err1) = run_in($a1, $STMT);
is($err1, '', 'same rows: a1 spends the approval in an open transaction');
my $a2pid = $a2->query_safe('SELECT pg_backend_pid()');
my $t = send_sql($a2, $STMT);
ok( $node->poll_query_until('postgres',
		"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $a2pid"),
	'same rows: a2 waits for a1\'s row locks');
run_in($a1, 'COMMIT');
$err2 = collect($a2, $t);
refused($err2, 'same rows: a2, once a1 committed');
is(updated(), '150 0', 'same rows: the rows were updated once');
run_in($a2, 'SET apr.grp = 2');

# --- at the same moment, several rounds ------------------------------------
my $rounds = 5;
my ($wins, $losses) = (0, 0);
for my $r (1 .. $rounds)
{
	$apr = refuse_and_approve("round $r");
	my $t1 = send_sql($a1, $STMT);
	my $t2 = send_sql($a2, $STMT);
	$err1 = collect($a1, $t1);
	$err2 = collect($a2, $t2);
	for my $e ($err1, $err2)
	{
		if ($e eq '') { $wins++; }
		elsif ($e =~ /ERROR:\s+42501: deletion_firewall refused update/) { $losses++; }
		else { diag "round $r: unexpected: $e"; }
	}
	is(updated(), '150 0', "round $r: exactly one of the two racing statements updated rows");
	is(approval_live($apr), '0', "round $r: the approval is spent");
}
is("$wins $losses", "$rounds $rounds", "$rounds rounds at the same moment: one win and one refusal each");

# --- spent although the winner rolls back ---------------------------------
$apr = refuse_and_approve('rollback');
run_in($a1, 'BEGIN');
($out, $err1) = run_in($a1, $STMT);
is($err1, '', 'rollback: a1 spends the approval');
run_in($a1, 'ROLLBACK');
($out, $err2) = run_in($a2, $STMT);
refused($err2, 'rollback: a2 after a1 rolled back');
is(updated(), '0 0', 'rollback: no row was updated');

# --- an approval for a session whose login is not the agent ----------------
# A superuser login that switched to the agent (SET SESSION AUTHORIZATION,
# as pg_isolation_regress does) is an agent session, refused as one; the
# HINT offers approve(), but the approval is issued for the agent (the
# session user) and spending it checks the login role, so the retry is
# refused "for another agent": the approval could never be used.  Now an
# approval is bound to its backend (or, any_session, its login) and not
# checked against the agent role again.
my $su = $node->background_psql('postgres', on_error_stop => 0);
$su->query_safe('\set VERBOSITY verbose');
$su->query_safe('SET apr.grp = 1');
$su->query_safe('SET SESSION AUTHORIZATION agent');
my ($o, $e) = run_in($su, $STMT);
my $req = refused($e, 'switched login: the statement without confirmation');
$node->safe_psql('postgres',
	"SET ROLE alice; SELECT deletion_firewall.approve('$req')");
($o, $e) = run_in($su, $STMT);
is($e, '', 'switched login: the approved retry in the refused session goes through');
like($e, qr/ERROR:\s+42501: deletion_firewall refused|^$/,
	'switched login: either way nothing is done unconfirmed');
$su->quit;

$a1->quit;
$a2->quit;
done_testing();
