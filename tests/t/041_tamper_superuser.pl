# Tampering by a superuser agent, the parts pg_regress cannot show: it must
# not switch the firewall off through postgresql.auto.conf (ALTER SYSTEM,
# COPY to the file, lo_export of a large object to the file, COPY PROGRAM),
# nor through connection options; reloads and restarts leave the firewall
# on; a fresh session of the same agent is still guarded.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;

my $node = DfwTest::node('tamper_su');

$node->safe_psql('postgres', q{
CREATE ROLE sup LOGIN SUPERUSER;           -- (wrongly) a superuser agent
GRANT deletion_firewall_agent TO sup;
CREATE SCHEMA app;
CREATE TABLE app.t AS SELECT g AS id FROM generate_series(1, 500) g;
GRANT USAGE ON SCHEMA app TO bob;
ALTER TABLE app.t OWNER TO bob;            -- so that bob may drop it natively
});

sub still_guarded
{
	my ($when) = @_;
	is( $node->safe_psql('postgres', 'SHOW deletion_firewall.enabled',
			extra_params => [ '-U', 'sup' ]),
		'on', "$when: deletion_firewall.enabled is on");
	is( $node->safe_psql('postgres', 'SHOW deletion_firewall.max_rows',
			extra_params => [ '-U', 'sup' ]),
		'100', "$when: max_rows is the default");
	refused_as('sup', 'DROP TABLE app.t', "$when: a new session, DROP");
	refused_as('sup', 'DELETE FROM app.t', "$when: a new session, mass DELETE");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM app.t'),
		'500', "$when: the table is intact");
}

my $datadir = $node->data_dir;
my $auto_conf = "$datadir/postgresql.auto.conf";
my $auto_before = slurp_file($auto_conf);
my $pg_conf_before = slurp_file("$datadir/postgresql.conf");

is($node->safe_psql('postgres', 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
		extra_params => [ '-U', 'sup' ]),
	't', 'the agent is a superuser');

# --- writing postgresql.auto.conf ------------------------------------------
refused_as('sup', 'ALTER SYSTEM SET deletion_firewall.enabled = off',
	'ALTER SYSTEM SET deletion_firewall.enabled');
refused_as('sup', "ALTER SYSTEM SET deletion_firewall.agent_role = 'bob'",
	'ALTER SYSTEM SET deletion_firewall.agent_role');
refused_as('sup', "ALTER SYSTEM SET work_mem = '64MB'", 'ALTER SYSTEM SET work_mem');
refused_as('sup', 'ALTER SYSTEM RESET ALL', 'ALTER SYSTEM RESET ALL');
refused_as('sup',
	"COPY (SELECT 'deletion_firewall.enabled = off') TO '$auto_conf'",
	'COPY TO postgresql.auto.conf');
refused_as('sup',
	"COPY (SELECT 'deletion_firewall.enabled = off') TO '$datadir/postgresql.conf'",
	'COPY TO postgresql.conf');
refused_as('sup',
	"COPY (SELECT 1) TO PROGRAM 'echo deletion_firewall.enabled = off >> $auto_conf'",
	'COPY TO PROGRAM appending to postgresql.auto.conf');
refused_as('sup',
	"SELECT lo_export(lo_from_bytea(0, convert_to(E'deletion_firewall.enabled = off\\n', 'UTF8')), '$auto_conf')",
	'lo_export to postgresql.auto.conf');
refused_as('sup',
	"CREATE FUNCTION public.sc(text, text, bool) RETURNS text AS 'set_config_by_name' LANGUAGE internal",
	'a renamed copy of set_config in language internal');
is(slurp_file($auto_conf), $auto_before, 'postgresql.auto.conf unchanged');
is(slurp_file("$datadir/postgresql.conf"), $pg_conf_before, 'postgresql.conf unchanged');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_largeobject_metadata'),
	'0', 'no large object was left behind');

# the agent may reload (nothing in the SPEC forbids it); that must do no harm
my ($ret, $out, $err) = run_as('sup', 'SELECT pg_reload_conf()');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
still_guarded('after a reload');

# --- settings in the session and in role/database settings -----------------
refused_as('sup', 'SET deletion_firewall.max_rows = -1', 'SET max_rows');
refused_as('sup', "SELECT set_config('deletion_firewall.max_rows', '-1', false)",
	'set_config max_rows');
refused_as('sup', 'ALTER ROLE sup SET deletion_firewall.max_rows = -1', 'ALTER ROLE sup SET');
refused_as('sup', 'ALTER ROLE bob SET deletion_firewall.max_rows = -1', 'ALTER ROLE bob SET');
refused_as('sup', 'ALTER DATABASE postgres SET deletion_firewall.max_rows = -1',
	'ALTER DATABASE SET');
refused_as('sup', 'DELETE FROM pg_db_role_setting', 'DELETE FROM pg_db_role_setting');
refused_as('sup', "LOAD 'deletion_firewall'", 'LOAD');
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_db_role_setting
		   WHERE array_to_string(setconfig, ',') LIKE '%deletion_firewall%'}),
	'0', 'no role or database settings were written');

# --- connection options -------------------------------------------------------
foreach my $opt ('deletion_firewall.max_rows=-1',
	'deletion_firewall.guard_update=off',
	'deletion_firewall.enabled=off',
	'deletion_firewall.agent_role=bob')
{
	my ($ret, $out, $err) = $node->psql(
		'postgres',
		'SELECT current_setting(\'deletion_firewall.max_rows\') || \' \' || current_setting(\'deletion_firewall.guard_update\') || \' \' || current_setting(\'deletion_firewall.enabled\') || \' \' || current_setting(\'deletion_firewall.agent_role\')',
		connstr => $node->connstr('postgres') . " user=sup options='-c $opt'",
		on_error_stop => 1);
	isnt($ret, 0, "connection option -c $opt: connection refused");
	# enabled and agent_role are config-file-only: the server itself turns
	# them away at connection ("cannot be changed now")
	like($err, qr/deletion_firewall refuse|cannot be changed now/,
		"connection option -c $opt: refused");
	is($out, '', "connection option -c $opt: no session with that value");
}
{
	local $ENV{PGOPTIONS} = '-c deletion_firewall.max_rows=-1';
	my ($ret, $out, $err) = $node->psql('postgres', 'SHOW deletion_firewall.max_rows',
		extra_params => [ '-U', 'sup' ]);
	isnt($ret, 0, 'PGOPTIONS -c deletion_firewall.max_rows=-1: connection refused');
	like($err, qr/deletion_firewall refuse/, 'PGOPTIONS: refused by the firewall');
	isnt($out, '-1', 'PGOPTIONS: not applied');
}
# connecting with a role option does not shed the tag either
{
	my ($ret, $out, $err) = $node->psql(
		'postgres', 'DROP TABLE app.t',
		connstr => $node->connstr('postgres') . " user=sup options='-c role=bob'",
		on_error_stop => 1);
	like($err, qr/deletion_firewall refuse/, 'options -c role=bob: DROP still refused');
}

# --- identity: no fresh role, no shedding the tag -----------------------------
refused_as('sup', 'CREATE ROLE incognito LOGIN SUPERUSER', 'CREATE ROLE');
refused_as('sup', 'REVOKE deletion_firewall_agent FROM sup', 'REVOKE the tag');
refused_as('sup', q{DELETE FROM pg_auth_members WHERE member = 'sup'::regrole},
	'DELETE FROM pg_auth_members');
refused_as('sup', q{UPDATE pg_authid SET rolname = 'sup2' WHERE rolname = 'sup'},
	'UPDATE pg_authid');
refused_as('sup', 'SET SESSION AUTHORIZATION bob; SET deletion_firewall.max_rows = -1',
	'SET SESSION AUTHORIZATION bob, then SET');
refused_as('sup', 'DROP EXTENSION deletion_firewall', 'DROP EXTENSION');
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_auth_members
		   WHERE member = 'sup'::regrole AND roleid = 'deletion_firewall_agent'::regrole}),
	'1', 'the agent is still tagged');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_roles WHERE rolname = 'incognito'}),
	'0', 'no new role');

# --- a restart changes nothing ----------------------------------------------
$node->restart;
is(slurp_file($auto_conf), $auto_before, 'postgresql.auto.conf unchanged at the end');
still_guarded('after a restart');

# --- a human superuser can still change the configuration --------------------
$node->safe_psql('postgres', "ALTER SYSTEM SET work_mem = '8MB'");
like(slurp_file($auto_conf), qr/work_mem = '8MB'/, 'a human superuser can ALTER SYSTEM');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET work_mem');

$node->stop;
done_testing();
