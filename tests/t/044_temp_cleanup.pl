# Temporary objects never take permanent ones with them, and the end of a
# session is never refused (issue 9, section 1).
#
#  - an agent's session with temporary objects ends normally: no FATAL in
#    the log, no orphaned temporary schema left with objects in it;
#  - the issue's attack (ON COMMIT DROP table + BEGIN ATOMIC body of the
#    partition-key function): refused, the partitioned table and its 1,000
#    rows are there after COMMIT and after the session ended;
#  - a link a human made from a permanent object to the agent's temporary
#    object: the agent's session end is not refused, it is logged
#    (event=temp_cleanup), and nothing is left orphaned;
#  - a superuser agent cannot link to another session's temporary object.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;

my $node = DfwTest::node('temp_cleanup');

$node->safe_psql('postgres', q{
CREATE SCHEMA app AUTHORIZATION agent;
CREATE FUNCTION app.bucket(i int) RETURNS int LANGUAGE sql IMMUTABLE
    AS 'SELECT i % 2';
ALTER FUNCTION app.bucket(int) OWNER TO agent;
CREATE TABLE app.parts (id int, v text) PARTITION BY LIST (app.bucket(id));
CREATE TABLE app.parts0 PARTITION OF app.parts FOR VALUES IN (0);
CREATE TABLE app.parts1 PARTITION OF app.parts FOR VALUES IN (1);
INSERT INTO app.parts SELECT g, 'v' || g FROM generate_series(1, 1000) g;
ALTER TABLE app.parts OWNER TO agent;
CREATE TABLE public.hl (id int);
INSERT INTO public.hl SELECT g FROM generate_series(1, 10) g;
CREATE ROLE sagent LOGIN SUPERUSER;
GRANT deletion_firewall_agent TO sagent;
});

# objects left in temporary schemas (of sessions that have ended)
my $leftover_sql = q{
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname ~ '^pg_(toast_)?temp_'
   AND n.oid NOT IN (SELECT pg_my_temp_schema())};

sub agent_gone
{
	my ($user) = @_;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = '$user'")
	  or die "the $user session did not end";
}

# --- an agent's session with temporary objects ends ------------------------
my $off = -s $node->logfile;
my $s = agent_session();
my ($out, $err) = run_in($s, q{
CREATE TEMP TABLE t1 (a serial PRIMARY KEY, b text DEFAULT 'x' CHECK (b <> ''));
CREATE INDEX ON t1 (b);
CREATE TEMP VIEW v1 AS SELECT * FROM app.parts;
CREATE TYPE pg_temp.ty AS (x int);
CREATE TYPE pg_temp.rr AS RANGE (subtype = int);
CREATE DOMAIN pg_temp.d AS int CHECK (VALUE > 0);
CREATE FUNCTION pg_temp.f(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE TEMP TABLE t2 (a pg_temp.d DEFAULT pg_temp.f(1), r pg_temp.rr) ON COMMIT DELETE ROWS;
INSERT INTO t1 (b) SELECT 'y' FROM generate_series(1, 100);
SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema();
});
is($err, '', 'the agent makes temporary objects');
$s->quit;
agent_gone('agent');
my $log = slurp_file($node->logfile, $off);
unlike($log, qr/FATAL/, 'session end: no FATAL in the log');
unlike($log, qr/deletion_firewall: event=refused/, 'session end: nothing refused');
is($node->safe_psql('postgres', $leftover_sql), '0',
	'session end: no orphaned temporary objects');

# --- the issue's attack ------------------------------------------------------
$s = agent_session();
($out, $err) = run_in($s, q{
BEGIN;
CREATE TEMP TABLE t (a int) ON COMMIT DROP;
CREATE OR REPLACE FUNCTION app.bucket(i int) RETURNS int LANGUAGE sql IMMUTABLE
    BEGIN ATOMIC SELECT i % 2 + coalesce((NULL::pg_temp.t).a, 0); END;
COMMIT;
});
like($err,
	qr/ERROR:  42501: deletion_firewall refused (making function app.bucket\(integer\) depend on temporary (type t|column a of table t)|update of app.parts) for agent "agent"/,
	'BEGIN ATOMIC body over an ON COMMIT DROP table: refused');
is($node->safe_psql('postgres', 'SELECT count(*) FROM app.parts'),
	'1000', 'the partitioned table keeps its 1,000 rows after COMMIT');
# the same, with a table that lives until the session ends
($out, $err) = run_in($s, q{
CREATE TEMP TABLE t (a int);
CREATE OR REPLACE FUNCTION app.bucket(i int) RETURNS int LANGUAGE sql IMMUTABLE
    BEGIN ATOMIC SELECT i % 2 + coalesce((NULL::pg_temp.t).a, 0); END;
});
# (replacing a partition-key function is an update of the table: quiet.c
# may refuse it before the dependency on the temporary table is checked)
like($err, qr/ERROR:  42501: deletion_firewall refused (making function|update of app\.parts)/,
	'BEGIN ATOMIC body over a session-long temporary table: refused');
$off = -s $node->logfile;
$s->quit;
agent_gone('agent');
is($node->safe_psql('postgres', 'SELECT count(*) FROM app.parts'),
	'1000', 'the partitioned table keeps its 1,000 rows after the session ended');
is($node->safe_psql('postgres', "SELECT prosrc FROM pg_proc WHERE oid = 'app.bucket(int)'::regprocedure"),
	'SELECT i % 2', 'the partition-key function is unchanged');
unlike(slurp_file($node->logfile, $off), qr/FATAL/,
	'that session ended without FATAL');

# --- a human links a permanent column to the agent's temporary type ---------
$s = agent_session();
($out, $err) = run_in($s, q{
CREATE TYPE pg_temp.aty AS (x int);
CREATE FUNCTION pg_temp.af() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 7';
SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema();
});
is($err, '', 'the agent makes a temporary type');
my ($nsp) = $out =~ /(pg_temp_\d+)/;
$node->safe_psql('postgres', qq{
ALTER TABLE public.hl ADD COLUMN c $nsp.aty;
ALTER TABLE public.hl ADD COLUMN d int DEFAULT $nsp.af();
});
# the agent's DISCARD TEMP would reach them: a guarded statement
($out, $err) = run_in($s, 'DISCARD TEMP;');
like($err, qr/ERROR:  42501: deletion_firewall refused drop of .*public\.hl\.[cd]/,
	"the agent's DISCARD TEMP that reaches the human's column is refused");
$off = -s $node->logfile;
$s->quit;
agent_gone('agent');
$log = slurp_file($node->logfile, $off);
unlike($log, qr/FATAL/, 'session end reaching a permanent object: no FATAL');
like($log,
	qr/deletion_firewall: event=temp_cleanup action=drop target=public\.hl\.c .*reason=session_end/,
	'the column it reached is logged');
like($log, qr/event=temp_cleanup action=drop target="for public\.hl\.d"/,
	'so is the default it reached');
is($node->safe_psql('postgres', $leftover_sql), '0',
	'no orphaned temporary objects');
is($node->safe_psql('postgres', 'SELECT count(*) FROM public.hl'),
	'10', 'the table keeps its rows');

# --- a superuser agent and another session's temporary object ---------------
my $h = $node->background_psql('postgres', on_error_stop => 0);
$h->query_safe('CREATE TYPE pg_temp.hty AS (x int)');
my $hnsp = $h->query_safe(
	'SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()');
chomp $hnsp;
my $err2 = refused_as('sagent', "CREATE TABLE public.sx (a $hnsp.hty)",
	"superuser agent: a column of another session's temporary type");
like($err2, qr/depend on temporary type/, 'refused as a temporary dependency');
is(exists_table('sx'), 'f', 'the table was not made');
$h->quit;

done_testing();
