# The sliding window across sessions: rows an agent deletes per table count
# over deletion_firewall.window_seconds whatever session deleted them; the
# window slides; a restart clears it; a full table of counts refuses.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;

my $node = DfwTest::node('window');
$node->safe_psql('postgres', q{
	ALTER ROLE agent SET deletion_firewall.window_rows = 300;
	CREATE ROLE agent2 LOGIN;
	GRANT deletion_firewall_agent TO agent2;
	ALTER ROLE agent2 SET deletion_firewall.window_rows = 300;
	CREATE TABLE t (id int PRIMARY KEY);
	CREATE TABLE slide (id int PRIMARY KEY);
	CREATE TABLE again (id int PRIMARY KEY);
	INSERT INTO t SELECT generate_series(1, 1000);
	INSERT INTO slide SELECT generate_series(1, 1000);
	INSERT INTO again SELECT generate_series(1, 1000);
	GRANT ALL ON t, slide, again TO agent, agent2;
});

sub rows_of
{
	return $node->safe_psql('postgres', "SELECT count(*) FROM $_[0]");
}

# --- across sessions: three sessions of 100 rows, the fourth is refused
for my $i (0 .. 2)
{
	my ($ret) = run_as('agent',
		"DELETE FROM t WHERE id > $i * 100 AND id <= ($i + 1) * 100;");
	is($ret, 0, "session $i: 100 rows deleted");
}
my $err = refused_as('agent', 'DELETE FROM t WHERE id = 301;', 'a fourth session');
like($err, qr/more than 300 rows from public\.t within 3600 seconds/,
	'the primary message names the window');
like($err, qr/This agent deleted 300 rows of public\.t in the last 3600 seconds/,
	'the DETAIL says how many rows this agent deleted in the window');
like($err, qr/splitting the work into smaller statements or sessions will be refused too/,
	'... and that splitting does not help');
like($err, qr/HINT:  Ask a human approver to run: SELECT deletion_firewall\.approve\('req_/,
	'the HINT leads with approve()');
is(rows_of('t'), '700', 'the table kept its other rows');

# two sessions open at once, interleaved
my $s1 = agent_session();
my $s2 = agent_session();
my ($out, $e) = run_in($s1, 'DELETE FROM again WHERE id <= 100;');
is($e, '', 'interleaved session 1: 100 rows');
($out, $e) = run_in($s2, 'DELETE FROM again WHERE id > 100 AND id <= 200;');
is($e, '', 'interleaved session 2: 100 rows');
($out, $e) = run_in($s1, 'DELETE FROM again WHERE id > 200 AND id <= 300;');
is($e, '', 'interleaved session 1 again: 100 rows');
($out, $e) = run_in($s2, 'DELETE FROM again WHERE id = 301;');
my $req = refused($e, 'interleaved session 2, row 301');
# approvals work as for any refusal: approved, the retry goes through
my ($r) = run_as('alice', "SELECT deletion_firewall.approve('$req');");
is($r, 0, 'alice approves the request');
($out, $e) = run_in($s2, 'DELETE FROM again WHERE id = 301;');
is($e, '', 'the approved retry goes through');
is(rows_of('again'), '699', '... and deleted its row');
$s1->quit;
$s2->quit;

# another agent has its own count
my ($ret) = run_as('agent2', 'DELETE FROM t WHERE id > 300 AND id <= 400;');
is($ret, 0, 'another agent has its own count');

# --- the window slides: window_seconds = 2, set by a superuser
$node->safe_psql('postgres',
	'ALTER ROLE agent SET deletion_firewall.window_seconds = 2');
($ret) = run_as('agent', 'DELETE FROM slide WHERE id <= 100;');
is($ret, 0, 'short window: 100 rows');
($ret) = run_as('agent', 'DELETE FROM slide WHERE id > 100 AND id <= 200;');
is($ret, 0, 'short window: 200 rows');
($ret) = run_as('agent', 'DELETE FROM slide WHERE id > 200 AND id <= 300;');
is($ret, 0, 'short window: 300 rows');
$err = refused_as('agent', 'DELETE FROM slide WHERE id = 301;', 'short window: row 301');
like($err, qr/in the last 2 seconds/, '... the DETAIL names the window');
sleep 3;
($ret) = run_as('agent', 'DELETE FROM slide WHERE id > 300 AND id <= 400;');
is($ret, 0, 'three seconds later the window has slid: 100 more rows');
is(rows_of('slide'), '600', 'the slid window let exactly those rows go');
$node->safe_psql('postgres',
	'ALTER ROLE agent RESET deletion_firewall.window_seconds');

# --- a restart clears the counts
refused_as('agent', 'DELETE FROM t WHERE id = 450;', 'before the restart');
$node->restart;
($ret) = run_as('agent', 'DELETE FROM t WHERE id > 400 AND id <= 500;');
is($ret, 0, 'after a restart the count starts again');

# --- the shared table is sized at server start, and full refuses
($ret, $out, $err) = $node->psql('postgres',
	'SET deletion_firewall.window_entries = 32;');
like($err, qr/can only be set in the configuration file/,
	'window_entries cannot change without a restart');
$node->append_conf('postgresql.conf', 'deletion_firewall.window_entries = 16');
$node->restart;
is($node->safe_psql('postgres', 'SHOW deletion_firewall.window_entries'), '16',
	'window_entries is 16 after the restart');
($ret, $out, $err) = $node->psql('postgres',
	"ALTER SYSTEM SET deletion_firewall.window_entries = 32; SELECT pg_reload_conf();");
is($node->safe_psql('postgres', 'SHOW deletion_firewall.window_entries'), '16',
	'a reload does not change it');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET deletion_firewall.window_entries');
my $create = '';
my $wipe = '';
for my $i (1 .. 17)
{
	$create .= "CREATE TABLE f$i (id int); INSERT INTO f$i VALUES (1), (2); GRANT ALL ON f$i TO agent, bob;\n";
	$wipe .= "DELETE FROM f$i WHERE id = 1;\n" if $i <= 16;
}
$node->safe_psql('postgres', $create);
($ret, $out, $err) = run_as('agent', $wipe);
is($ret, 0, '16 tables fill the 16 entries');
$err = refused_as('agent', 'DELETE FROM f17 WHERE id = 1;', 'a 17th table');
like($err, qr/cannot be counted/, 'the refusal says the rows cannot be counted');
like($err, qr/window_entries = 16/, '... and names the setting');
is(rows_of('f17'), '2', 'the 17th table is intact');
($ret) = run_as('agent', 'DELETE FROM f1 WHERE id = 2;');
is($ret, 0, 'a table already counted still works');
($ret) = run_as('bob', 'DELETE FROM f17 WHERE id = 1;');
is($ret, 0, 'a human is not concerned');

$node->stop;
done_testing();
