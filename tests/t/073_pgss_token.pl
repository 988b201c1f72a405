# Issue 14 section 2: tokens are bearer secrets, so a stolen one must be
# worthless.  `SET deletion_firewall.token = 'dfw_...'` stands verbatim in
# pg_stat_statements (PostgreSQL 15 does not normalize utility statements)
# and in pg_stat_activity.  A token issued without `agent` is claimed by the
# login role of the first agent session that sets or spends it; a second
# agent role that may read both views (pg_read_all_stats) copies the token
# and is refused (42501, DETAIL: claimed by another agent login), the data
# stays, and the first agent can still use the token.
#
#   token A (drop):   the agent sets it and does not use it yet: claimed at
#                     SET time.
#   token B (delete): the agent sets it and spends a use: claimed (at the
#                     latest) at the first spend.
#   token C (delete): a human puts it in the agent role's settings (ALTER
#                     ROLE agent SET deletion_firewall.token): applied at
#                     connection from the role's settings, it is not claimed
#                     at SET time but by the agent's first spend.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;

my $node = DfwTest::node('pgss',
	extra_conf =>
	  "shared_preload_libraries = 'deletion_firewall,pg_stat_statements'\n");
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_stat_statements;
CREATE ROLE agent2 LOGIN;
GRANT deletion_firewall_agent TO agent2;
GRANT pg_read_all_stats TO agent2;
CREATE ROLE app_owner NOLOGIN;
GRANT app_owner TO agent, agent2;
CREATE TABLE victim (id int);
INSERT INTO victim SELECT generate_series(1, 10);
CREATE TABLE rows_t (id int);
INSERT INTO rows_t SELECT generate_series(1, 500);
CREATE TABLE rows_c (id int);
INSERT INTO rows_c SELECT generate_series(1, 500);
ALTER TABLE rows_c OWNER TO app_owner;
ALTER TABLE victim OWNER TO app_owner;
ALTER TABLE rows_t OWNER TO app_owner;
});
is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'deletion_firewall,pg_stat_statements', 'both libraries are preloaded');

sub count_rows
{
	return $node->safe_psql('postgres', 'SELECT count(*) FROM rows_t');
}

# tokens without agent, issued by alice
my $tok_a = $node->safe_psql('postgres',
	"SET ROLE alice; SELECT deletion_firewall.confirm('drop', 'public.victim', uses => 2)");
my $tok_b = $node->safe_psql('postgres',
	"SET ROLE alice; SELECT deletion_firewall.confirm('delete', 'public.rows_t', uses => 3)");
like($tok_a, qr/^dfw_[0-9a-f]{32}$/, 'alice issues token A (drop) without agent');
like($tok_b, qr/^dfw_[0-9a-f]{32}$/, 'alice issues token B (delete) without agent');

# the first agent sets both, in a session that stays open; it spends a use
# of B only, and its last statement is the SET of A
my $s = agent_session();
my ($out, $err) = run_in($s, "SET deletion_firewall.token = '$tok_b'");
is($err, '', 'the agent sets token B');
($out, $err) = run_in($s, 'DELETE FROM rows_t WHERE id <= 150');
is($err, '', 'the agent deletes 150 rows with token B (one use spent)');
is(count_rows(), '350', '... 350 rows remain');
($out, $err) = run_in($s, "SET deletion_firewall.token = '$tok_a'");
is($err, '', 'the agent sets token A and does not use it yet');

is($node->safe_psql('postgres', q{
SELECT uses_left FROM deletion_firewall.tokens WHERE target = 'public.victim'}),
	'2', 'token A has both uses left');
is($node->safe_psql('postgres', q{
SELECT uses_left FROM deletion_firewall.tokens WHERE target = 'public.rows_t'}),
	'2', 'token B has two uses left');

# --- the thief reads the tokens ---------------------------------------------

my ($ret, $stolen_stmts, $stolen_act);
($ret, $stolen_stmts, $err) = DfwTest::run_as('agent2', q{
SELECT string_agg(m[1], ' ' ORDER BY m[1])
FROM pg_stat_statements, regexp_matches(query, '(dfw_[0-9a-f]{32})', 'g') AS m
WHERE query LIKE 'SET deletion_firewall.token%'});
is($ret, 0, 'the second agent reads pg_stat_statements');
like($stolen_stmts, qr/\Q$tok_a\E/, '... token A stands there verbatim');
like($stolen_stmts, qr/\Q$tok_b\E/, '... and so does token B');

($ret, $stolen_act, $err) = DfwTest::run_as('agent2', q{
SELECT substring(query from 'dfw_[0-9a-f]{32}') FROM pg_stat_activity
WHERE usename = 'agent' AND query LIKE 'SET deletion_firewall.token%'});
is($stolen_act, $tok_a,
	'the second agent reads token A in the first agent\'s pg_stat_activity row');

# token A, read from pg_stat_activity: DROP TABLE refused
$err = refused_as('agent2',
	"SET deletion_firewall.token = '$stolen_act';\nDROP TABLE victim;",
	'the thief\'s DROP TABLE with token A (claimed at SET time)');
like($err, qr/DETAIL:  The session's token tok_[0-9a-f]+ was already used by another agent login role, which claimed it\./,
	'... DETAIL: the token was claimed by another agent login role');
is(exists_table('victim'), 't', '... the table is still there');

# token B, read from pg_stat_statements: a mass DELETE refused
$err = refused_as('agent2',
	"SET deletion_firewall.token = '$tok_b';\nDELETE FROM rows_t WHERE id > 150;",
	'the thief\'s mass DELETE with token B (claimed by its first spend)');
like($err, qr/DETAIL:  The session's token tok_[0-9a-f]+ was already used by another agent login role, which claimed it\./,
	'... DETAIL: the token was claimed by another agent login role');
is(count_rows(), '350', '... all 350 rows remain');

# the thief's tries spent nothing
is($node->safe_psql('postgres', q{
SELECT string_agg(target || '=' || uses_left, ' ' ORDER BY target)
FROM deletion_firewall.tokens WHERE target IN ('public.victim', 'public.rows_t')}),
	'public.rows_t=2 public.victim=2', 'the refusals spent no use of either token');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM deletion_firewall.blocked
WHERE agent = 'agent2' AND reason = 'claimed_by_another_agent'}),
	'2', 'both refusals are recorded as claimed_by_another_agent');

# --- the first agent can still use both --------------------------------------

($out, $err) = run_in($s, 'DROP TABLE victim');
is($err, '', 'the first agent drops the table with token A');
is(exists_table('victim'), 'f', '... it is gone');
($out, $err) = run_in($s, "SET deletion_firewall.token = '$tok_b'");
($out, $err) = run_in($s, 'DELETE FROM rows_t WHERE id <= 300');
is($err, '', 'the first agent deletes 150 more rows with token B');
is(count_rows(), '200', '... 200 rows remain');

# a new session of the same login may use it as well (claimed by the login
# role, not the backend)
my ($r2, $o2, $e2) = DfwTest::run_as('agent',
	"SET deletion_firewall.token = '$tok_b';\nDELETE FROM rows_t WHERE id <= 450;");
is($r2, 0, 'another session of the first agent\'s login spends token B\'s last use');
is(count_rows(), '50', '... 50 rows remain');

# --- token C: claimed at the first spend -------------------------------------

sub count_c
{
	return $node->safe_psql('postgres', 'SELECT count(*) FROM rows_c');
}
my $tok_c = $node->safe_psql('postgres',
	"SET ROLE alice; SELECT deletion_firewall.confirm('delete', 'public.rows_c', uses => 3)");
$node->safe_psql('postgres',
	"ALTER ROLE agent SET deletion_firewall.token = '$tok_c'");
($r2, $o2, $e2) = DfwTest::run_as('agent', 'SHOW deletion_firewall.token');
is($o2, $tok_c, 'token C reaches the agent\'s new sessions from its role settings');
($r2, $o2, $e2) = DfwTest::run_as('agent', 'DELETE FROM rows_c WHERE id <= 150');
is($r2, 0, 'the agent deletes 150 rows with token C: its first spend claims it');
is(count_c(), '350', '... 350 rows remain');

($ret, $out, $err) = DfwTest::run_as('agent2', q{
SELECT substring(query from 'dfw_[0-9a-f]{32}') FROM pg_stat_statements
WHERE query LIKE 'ALTER ROLE agent SET deletion_firewall.token%'});
is($out, $tok_c, 'the second agent reads token C from the human\'s ALTER ROLE in pg_stat_statements');
$err = refused_as('agent2',
	"SET deletion_firewall.token = '$out';\nDELETE FROM rows_c WHERE id > 150;",
	'the thief\'s mass DELETE with token C (claimed at the first spend)');
like($err, qr/DETAIL:  The session's token tok_[0-9a-f]+ was already used by another agent login role, which claimed it\./,
	'... DETAIL: the token was claimed by another agent login role');
is(count_c(), '350', '... all 350 rows remain');
($r2, $o2, $e2) = DfwTest::run_as('agent', 'DELETE FROM rows_c WHERE id <= 300');
is($r2, 0, 'the first agent can still use token C');
is(count_c(), '200', '... 200 rows remain');
$node->safe_psql('postgres', 'ALTER ROLE agent RESET deletion_firewall.token');

$s->quit;
done_testing();
