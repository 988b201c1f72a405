# Tampering, the parts pg_regress cannot show: connection options, values
# from postgresql.conf and from ALTER ROLE made by a human, reloads, and a
# fresh session of the same agent after its attempts.  An ordinary agent
# here; 041_tamper_superuser.pl does the same for a superuser agent.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;

my $node = DfwTest::node('tamper',
	extra_conf => "deletion_firewall.max_rows = 5\n");

$node->safe_psql('postgres', q{
CREATE SCHEMA app AUTHORIZATION agent;
CREATE TABLE app.t AS SELECT g AS id FROM generate_series(1, 50) g;
ALTER TABLE app.t OWNER TO agent;
});

sub agent_value
{
	my ($user, $setting) = @_;
	return $node->safe_psql('postgres', "SHOW $setting",
		extra_params => [ '-U', $user ]);
}

my $auto_conf = $node->data_dir . '/postgresql.auto.conf';
my $auto_before = slurp_file($auto_conf);

# --- a value in postgresql.conf applies to agents ---------------------------
is(agent_value('agent', 'deletion_firewall.max_rows'),
	'5', 'max_rows from postgresql.conf applies to the agent');
is( $node->safe_psql(
		'postgres',
		"SELECT source FROM pg_settings WHERE name = 'deletion_firewall.max_rows'",
		extra_params => [ '-U', 'agent' ]),
	'configuration file',
	'and it comes from the configuration file');
refused_as('agent', 'DELETE FROM app.t WHERE id <= 6', '6 rows > max_rows 5');
is($node->safe_psql('postgres', 'BEGIN; DELETE FROM app.t WHERE id <= 5; ROLLBACK',
		extra_params => [ '-U', 'agent' ]),
	'', '5 rows = max_rows 5 is allowed');

# the agent cannot loosen it in its session
refused_as('agent', 'SET deletion_firewall.max_rows = -1', 'SET max_rows');
refused_as('agent', 'RESET deletion_firewall.max_rows', 'RESET max_rows');
refused_as('agent', "SELECT set_config('deletion_firewall.max_rows', '-1', false)",
	'set_config max_rows');
refused_as('agent', 'SET deletion_firewall.guard_update = off', 'SET guard_update');
refused_as('agent', 'ALTER ROLE agent SET deletion_firewall.max_rows = -1',
	'ALTER ROLE agent SET');
refused_as('agent', 'ALTER DATABASE postgres SET deletion_firewall.max_rows = -1',
	'ALTER DATABASE SET');
refused_as('agent', "ALTER SYSTEM SET deletion_firewall.max_rows = -1",
	'ALTER SYSTEM SET max_rows');
refused_as('agent', "ALTER SYSTEM SET work_mem = '64MB'", 'ALTER SYSTEM SET work_mem');
refused_as('agent', "LOAD 'deletion_firewall'", 'LOAD');
refused_as('agent', 'CREATE ROLE incognito LOGIN', 'CREATE ROLE');
refused_as('agent', 'REVOKE deletion_firewall_agent FROM agent', 'REVOKE the tag');
refused_as('agent', 'DELETE FROM pg_auth_members', 'DELETE FROM pg_auth_members');
refused_as('agent', 'DROP EXTENSION deletion_firewall', 'DROP EXTENSION');
is(slurp_file($auto_conf), $auto_before, 'postgresql.auto.conf unchanged');
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_db_role_setting s
		   WHERE array_to_string(s.setconfig, ',') LIKE '%deletion_firewall%'}),
	'0', 'no role or database settings were written');
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_auth_members
		   WHERE member = 'agent'::regrole
		     AND roleid = 'deletion_firewall_agent'::regrole}),
	'1', 'the agent is still tagged');

# --- connection options: refused, never applied -----------------------------
foreach my $opt ('deletion_firewall.max_rows=-1',
	'deletion_firewall.guard_update=off',
	'deletion_firewall.enabled=off')
{
	my ($ret, $out, $err) = $node->psql(
		'postgres',
		'SHOW deletion_firewall.max_rows; SHOW deletion_firewall.guard_update; SHOW deletion_firewall.enabled',
		connstr => $node->connstr('postgres')
		  . " user=agent options='-c $opt'",
		on_error_stop => 1);
	isnt($ret, 0, "connection option -c $opt: connection refused");
	# an ordinary agent may be turned away by the server's own permission
	# check (FATAL at connection) before the firewall is asked: either way
	# the session never starts with the value
	like($err, qr/deletion_firewall refuse|permission denied to set parameter|cannot be changed now/,
		"connection option -c $opt: refused");
	unlike($out, qr/^-1$|^off$/m, "connection option -c $opt: not applied");
}
{
	# the same through PGOPTIONS
	local $ENV{PGOPTIONS} = '-c deletion_firewall.max_rows=-1';
	my ($ret, $out, $err) = $node->psql('postgres', 'SHOW deletion_firewall.max_rows',
		extra_params => [ '-U', 'agent' ]);
	isnt($ret, 0, 'PGOPTIONS -c deletion_firewall.max_rows=-1: connection refused');
	like($err, qr/deletion_firewall refuse|permission denied to set parameter/,
		'PGOPTIONS: refused');
	isnt($out, '-1', 'PGOPTIONS: not applied');
}
# the token may be given as a connection option like any user setting
is( $node->safe_psql(
		'postgres',
		"SHOW deletion_firewall.token",
		connstr => $node->connstr('postgres')
		  . " user=agent options='-c deletion_firewall.token='"),
	'', 'deletion_firewall.token is still the agent\'s to set');

# --- ALTER ROLE ... SET by a human applies to the agent's next session ------
$node->safe_psql('postgres', 'ALTER ROLE agent SET deletion_firewall.max_rows = 0');
is(agent_value('agent', 'deletion_firewall.max_rows'),
	'0', 'ALTER ROLE agent SET max_rows = 0 by a human applies');
refused_as('agent', 'DELETE FROM app.t WHERE id = 1', '1 row > max_rows 0');
refused_as('agent', 'RESET deletion_firewall.max_rows', 'RESET of the role value');
refused_as('agent', 'ALTER ROLE agent RESET deletion_firewall.max_rows',
	'ALTER ROLE agent RESET');
refused_as('agent', 'ALTER ROLE agent RESET ALL', 'ALTER ROLE agent RESET ALL');
is($node->safe_psql('postgres', 'RESET ALL; SHOW deletion_firewall.max_rows',
		extra_params => [ '-U', 'agent' ]),
	'0', 'RESET ALL goes back to the value the human set');
$node->safe_psql('postgres', 'ALTER DATABASE postgres SET deletion_firewall.guard_update = off');
is(agent_value('agent', 'deletion_firewall.guard_update'),
	'off', 'ALTER DATABASE SET guard_update by a human applies');
refused_as('agent', 'SET deletion_firewall.guard_update = on',
	'even a stricter value cannot be SET');
$node->safe_psql('postgres', q{
ALTER ROLE agent RESET deletion_firewall.max_rows;
ALTER DATABASE postgres RESET deletion_firewall.guard_update;
});
is(agent_value('agent', 'deletion_firewall.max_rows'), '5',
	'back to the configuration file value after the human reset it');

# --- reloads: a human's change to postgresql.conf applies; reloads do no harm
my ($ret, $out, $err) = run_as('agent', 'SELECT pg_reload_conf()');
isnt($ret, 0, 'an ordinary agent may not reload the configuration');
$node->append_conf('postgresql.conf', "deletion_firewall.max_rows = 3\n");
$node->reload;
$node->poll_query_until('postgres', 'SHOW deletion_firewall.max_rows', '3')
  or die 'reload not seen';
is(agent_value('agent', 'deletion_firewall.max_rows'),
	'3', 'a new value in postgresql.conf applies after a reload');
refused_as('agent', 'DELETE FROM app.t WHERE id <= 4', '4 rows > max_rows 3');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
is(agent_value('agent', 'deletion_firewall.enabled'),
	'on', 'the firewall is still on after another reload');

# --- a second session of the same agent is still guarded ---------------------
refused_as('agent', 'DROP TABLE app.t', 'a new session: DROP still refused');
refused_as('agent', 'TRUNCATE app.t', 'a new session: TRUNCATE still refused');
is($node->safe_psql('postgres', 'SELECT count(*) FROM app.t'),
	'50', 'the table is still there with all its rows');
is(slurp_file($auto_conf), $auto_before, 'postgresql.auto.conf still unchanged');

# --- a human superuser can still do all of it ---------------------------------
$node->safe_psql('postgres', q{
SET deletion_firewall.max_rows = -1;
SELECT set_config('deletion_firewall.guard_update', 'off', false);
ALTER SYSTEM SET work_mem = '8MB';
ALTER SYSTEM RESET work_mem;
CREATE ROLE h_tmp;
GRANT deletion_firewall_agent TO h_tmp;
REVOKE deletion_firewall_agent FROM h_tmp;
DROP ROLE h_tmp;
LOAD 'deletion_firewall';
});
pass('a human superuser can SET, ALTER SYSTEM, manage roles and LOAD');

$node->stop;
done_testing();
