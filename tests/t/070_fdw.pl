# postgres_fdw: a DELETE pushed down whole to the remote server (direct
# modify, no RETURNING) hands the ModifyTable no rows; it is counted from
# the remote's reported count at ExecutorFinish and refused there, which
# rolls the remote transaction back with the local one.  A loopback server
# to another database of the same node, a 1,000-row remote table.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;

my $node = DfwTest::node('fdw');
my $super = $node->safe_psql('postgres', 'SELECT current_user');
my $host = $node->host;
my $port = $node->port;

$node->safe_psql('postgres', 'CREATE DATABASE remote');
$node->safe_psql('remote', q{
	CREATE TABLE rt (id int PRIMARY KEY, v int);
	INSERT INTO rt SELECT g, g FROM generate_series(1, 1000) g;
});
$node->safe_psql('postgres', qq{
	CREATE EXTENSION postgres_fdw;
	CREATE SERVER loop FOREIGN DATA WRAPPER postgres_fdw
		OPTIONS (host '$host', port '$port', dbname 'remote');
	CREATE USER MAPPING FOR agent SERVER loop
		OPTIONS (user '$super', password_required 'false');
	CREATE FOREIGN TABLE ft (id int, v int) SERVER loop OPTIONS (table_name 'rt');
	GRANT ALL ON ft TO agent;
});

sub remote_rows
{
	return $node->safe_psql('remote', 'SELECT count(*) FROM rt');
}

# the plan really is a pushed-down delete
my ($ret, $out, $err) = run_as('agent', 'EXPLAIN (VERBOSE, COSTS OFF) DELETE FROM ft;');
like($out, qr/Foreign Delete on public\.ft/, 'DELETE FROM ft is planned as a foreign delete');
unlike($out, qr/Foreign Scan/, '... pushed down whole, with no scan handing rows up');

my $e = refused_as('agent', 'DELETE FROM ft;', 'pushed-down DELETE FROM ft');
like($e, qr/refused delete of more than \d+ rows from public\.ft/,
	'... names the foreign table');
like($e, qr/deletion_firewall\.max_rows/, '... and max_rows');
is(remote_rows(), '1000', 'the remote rows are intact');

$e = refused_as('agent', 'UPDATE ft SET v = 0;', 'pushed-down UPDATE ft');
is($node->safe_psql('remote', 'SELECT count(*) FROM rt WHERE v = id'), '1000',
	'the remote rows are not updated');

# with RETURNING the rows come back one by one: counted like local ones
refused_as('agent', 'DELETE FROM ft WHERE id <= 300 RETURNING id;', 'DELETE ... RETURNING');
is(remote_rows(), '1000', 'the remote rows are intact after RETURNING');

# in a data-modifying CTE the wrapper reports no count (es_processed is the
# outer query's): refused up front, unless confirmed
$e = refused_as('agent', 'WITH d AS (DELETE FROM ft WHERE id > 800) SELECT 1;',
	'pushed-down DELETE in a CTE');
like($e, qr/through a foreign-data wrapper that reports no row count/,
	'... refused before it runs: in a CTE the count is not reported');
is(remote_rows(), '1000', 'the remote rows are intact after the CTE');

# in a function (another nesting level)
$node->safe_psql('postgres', q{
	CREATE FUNCTION wipe_ft() RETURNS void LANGUAGE sql AS 'DELETE FROM ft';
	GRANT EXECUTE ON FUNCTION wipe_ft() TO agent;
});
refused_as('agent', 'SELECT wipe_ft();', 'pushed-down DELETE in a function');
is(remote_rows(), '1000', 'the remote rows are intact after the function');

# a small one is fine, and counted
($ret, $out, $err) = run_as('agent', 'DELETE FROM ft WHERE id <= 50;');
is($ret, 0, 'a 50-row pushed-down DELETE is allowed');
is(remote_rows(), '950', '... and removed 50 remote rows');

# a human is not concerned
($ret, $out, $err) = run_as('bob', 'SELECT 1;');
$node->safe_psql('postgres', 'GRANT ALL ON ft TO bob;
	CREATE USER MAPPING FOR bob SERVER loop OPTIONS (user \'' . $super . '\', password_required \'false\');');
($ret, $out, $err) = run_as('bob', 'DELETE FROM ft WHERE id <= 500;');
is($ret, 0, 'a human\'s pushed-down DELETE of 450 rows is allowed');
is(remote_rows(), '500', '... and removed them');

$node->stop;
done_testing();
