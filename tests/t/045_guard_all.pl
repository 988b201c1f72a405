# deletion_firewall.guard_all: with it on (config file), every session that
# is not an approver's is guarded against destruction as an agent's, for
# teams whose agents share roles with applications.  Approvers and
# superusers are not guarded; the tamper rules and the refusal of
# replication connections stay for tagged agents only, so applications,
# standbys and backup tools keep working; warn mode combines with it, so a
# DBA can see what it would refuse before turning it on.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;

my $node = DfwTest::node('guard_all',
	extra_conf => "deletion_firewall.guard_all = on\nwal_level = replica\nmax_wal_senders = 4\n");
$node->append_conf('pg_hba.conf',
	"local replication all trust\nhost replication all 127.0.0.1/32 trust\n");
$node->reload;

$node->safe_psql('postgres', q{
CREATE ROLE app LOGIN CREATEROLE;       -- an application role, untagged
CREATE ROLE repl LOGIN REPLICATION;     -- a backup tool, untagged
CREATE SCHEMA s AUTHORIZATION app;
GRANT USAGE, CREATE ON SCHEMA s TO alice;
});
sub as_app { my ($sql) = @_; return run_as('app', $sql); }
$node->safe_psql('postgres', q{
SET ROLE app;
CREATE TABLE s.orders AS SELECT g AS id FROM generate_series(1, 500) g;
CREATE TABLE s.audit (a int);
RESET ROLE;
});
# the tables are app's, but older than the sessions that follow: not exempt

is($node->safe_psql('postgres', 'SHOW deletion_firewall.guard_all'), 'on',
	'guard_all is on');

# 1. an untagged role is guarded against destruction
refused_as('app', 'DROP TABLE s.orders', 'guard_all: an application role, DROP');
refused_as('app', 'DELETE FROM s.orders WHERE id > 100', 'guard_all: a mass DELETE');
refused_as('app', 'TRUNCATE s.audit', 'guard_all: TRUNCATE');
is($node->safe_psql('postgres', 'SELECT count(*) FROM s.orders'), '500',
	'the table keeps its 500 rows');
my ($ret, $out, $err) = as_app('DELETE FROM s.orders WHERE id <= 10');
is($ret, 0, 'a small DELETE goes through');

# ... and it may not switch guard_all off itself (config file only)
($ret, $out, $err) = as_app('SET deletion_firewall.guard_all = off');
isnt($ret, 0, 'guard_all cannot be SET by a session');
like($err, qr/can only be set in the configuration file/,
	'... it is a configuration-file setting');

# 2. the tamper rules stay for tagged agents only: an application role with
#    CREATEROLE may still manage roles
($ret, $out, $err) = as_app('CREATE ROLE app_helper NOLOGIN; DROP ROLE app_helper;');
is($ret, 0, 'role management by an untagged role is not refused')
  or diag $err;

# 3. approvers and superusers are not guarded
$node->safe_psql('postgres', 'CREATE TABLE s.alices (a int); ALTER TABLE s.alices OWNER TO alice');
($ret, $out, $err) = run_as('alice', 'DROP TABLE s.alices');
is($ret, 0, 'an approver is not guarded') or diag $err;
($ret, $out, $err) = run_as('postgres', 'DELETE FROM s.orders WHERE id > 400');
is($ret, 0, 'a superuser is not guarded') or diag $err;

# 4. replication connections of untagged roles keep working (backups)
my $bdir = $node->basedir . '/bb';
my $rc = system_log('pg_basebackup', '-D', $bdir, '-h', $node->host,
	'-p', $node->port, '-U', 'repl', '-X', 'none', '-c', 'fast');
is($rc, 0, 'pg_basebackup as an untagged REPLICATION role works');
ok(-f "$bdir/PG_VERSION", '... and wrote a backup');

# ... while a tagged agent's replication connection is still refused
$node->safe_psql('postgres', 'ALTER ROLE agent REPLICATION');
($ret, $out, $err) = $node->psql('postgres', 'IDENTIFY_SYSTEM',
	extra_params => [ '-U', 'agent' ], replication => 'database');
isnt($ret, 0, 'a tagged agent\'s replication connection is refused');
like($err, qr/deletion_firewall/, '... by the firewall');
$node->safe_psql('postgres', 'ALTER ROLE agent NOREPLICATION');

# 5. warn mode combines with it: a DBA trials guard_all on one role
$node->safe_psql('postgres', q{ALTER ROLE app SET deletion_firewall.mode = 'warn'});
($ret, $out, $err) = as_app('DELETE FROM s.orders WHERE id > 200');
is($ret, 0, 'warn mode: the mass DELETE goes through');
like($err, qr/WARNING:  42501: deletion_firewall refused delete of more than 100 rows from s\.orders for agent "app"/,
	'... with a WARNING carrying the refusal');
is($node->safe_psql('postgres', 'SELECT count(*) FROM s.orders'), '190',
	'... and the rows are gone');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM deletion_firewall.events WHERE event = 'warned' AND agent = 'app'}),
	'1', 'an event=warned row in events');
$node->safe_psql('postgres', q{ALTER ROLE app RESET deletion_firewall.mode});

# 6. with guard_all off, the same role is free
$node->append_conf('postgresql.conf', 'deletion_firewall.guard_all = off');
$node->restart;
($ret, $out, $err) = as_app('DROP TABLE s.orders');
is($ret, 0, 'guard_all off: the application role drops its table') or diag $err;
is($node->safe_psql('postgres', q{SELECT to_regclass('s.orders') IS NULL}), 't',
	'... it is gone');
$node->safe_psql('postgres', 'GRANT USAGE ON SCHEMA s TO agent; ALTER TABLE s.audit OWNER TO agent');
refused_as('agent', 'DROP TABLE s.audit', 'guard_all off: a tagged agent is still guarded');

done_testing();
