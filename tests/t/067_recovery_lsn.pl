# A confirmed statement records where to restore to: the lsn of its
# "confirmed" event (deletion_firewall.events.lsn, and lsn= in the server
# log line) is the WAL insert position just before it wrote anything, a
# recovery_target_lsn for point-in-time recovery to the moment before.
#
# A node with WAL archiving and a base backup; a human's table with rows
# (some written after the backup, so that recovery must replay them); the
# agent's DROP TABLE is refused, alice approves, the agent's retry drops the
# table.  A new node restored from the backup and the archive with
# recovery_target_lsn = that lsn (not inclusive) has the table back with all
# its rows.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;

my $node = PostgreSQL::Test::Cluster->new('primary');
$node->init(has_archiving => 1, allows_streaming => 1);
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'deletion_firewall'");
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION deletion_firewall;
CREATE ROLE agent LOGIN;
GRANT deletion_firewall_agent TO agent;
CREATE ROLE alice LOGIN;
GRANT deletion_firewall_approver TO alice;
CREATE TABLE public.ledger (id int PRIMARY KEY, amount numeric);
INSERT INTO public.ledger SELECT g, g * 1.5 FROM generate_series(1, 500) g;
ALTER TABLE public.ledger OWNER TO agent;
});

$node->backup('base');

# Rows written after the backup: only the archived WAL has them.
$node->safe_psql('postgres',
	'INSERT INTO public.ledger SELECT g, g * 1.5 FROM generate_series(501, 1000) g');
my $sum = $node->safe_psql('postgres', 'SELECT count(*), sum(amount) FROM public.ledger');
is($sum, '1000|750750.0', 'the human\'s table has 1000 rows');

sub as_alice
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', 'alice' ]);
}

# ---------------- refused, approved, dropped ----------------

# The agent's session stays open across the approval (it is attached to
# the refused session).
my $agent = $node->background_psql(
	'postgres',
	on_error_stop => 0,
	extra_params => [ '-U', 'agent' ]);
$agent->query_safe('\set VERBOSITY verbose');
my ($out, $err) = run_in($agent, 'DROP TABLE public.ledger');
my $req = refused($err, 'DROP TABLE of the human\'s table');
is($node->safe_psql('postgres', "SELECT to_regclass('public.ledger') IS NOT NULL"),
	't', 'the table is still there');

my $log_start = -s $node->logfile;
as_alice("SELECT deletion_firewall.approve('$req')");
($out, $err) = run_in($agent, 'DROP TABLE public.ledger');
is($err, '', 'the approved retry drops the table');
is($node->safe_psql('postgres', "SELECT to_regclass('public.ledger') IS NULL"),
	't', 'the table is gone');
$agent->quit;

my $lsn = as_alice(
	"SELECT lsn FROM deletion_firewall.events WHERE event = 'confirmed' AND request_id = '$req'");
like($lsn, qr{^[0-9A-F]+/[0-9A-F]+$}, "the confirmed event has an lsn ($lsn)");

my $log = slurp_file($node->logfile, $log_start);
my ($line) = $log =~ /^(.*deletion_firewall: .*event=confirmed.*)$/m;
ok(defined $line, 'the server log has a line for the confirmed statement');
my ($log_lsn) = ($line // '') =~ /\blsn=([0-9A-F]+\/[0-9A-F]+)/;
is($log_lsn, $lsn, 'the log line says lsn= with the same value');
note "log line: " . ($line // '(none)');

# The WAL that holds the DROP must reach the archive.
my $seg = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
ok($node->poll_query_until('postgres',
	"SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver"),
	"the WAL segment with the DROP ($seg) is archived")
  or diag($node->safe_psql('postgres', 'SELECT * FROM pg_stat_archiver'));

# ---------------- restore to the moment before ----------------

my $restored = PostgreSQL::Test::Cluster->new('restored');
$restored->init_from_backup($node, 'base', has_restoring => 1, standby => 0);
$restored->append_conf(
	'postgresql.conf', qq{
recovery_target_lsn = '$lsn'
recovery_target_inclusive = false
recovery_target_action = 'promote'
archive_mode = off
});
$restored->start;
ok($restored->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()'),
	'the restored node reaches the target and is promoted');
like(slurp_file($restored->logfile), qr/recovery stopping before WAL location \(LSN\) "\Q$lsn\E"/,
	'its log says recovery stopped before the confirmed statement\'s lsn');
is($restored->safe_psql('postgres', "SELECT to_regclass('public.ledger') IS NOT NULL"),
	't', 'the table is back');
is($restored->safe_psql('postgres', 'SELECT count(*), sum(amount) FROM public.ledger'),
	'1000|750750.0', 'with all its 1000 rows, those written after the backup too');

$restored->stop;
$node->stop;

done_testing();
