# Replicas and failover: a primary with a streaming standby.
#
# On the standby an agent's DROP/DELETE/TRUNCATE are refused by PostgreSQL
# itself (read-only transaction, 25006) and the firewall stays quiet: no
# refusal in the standby's log or its events.  After promotion the new
# primary guards agents (42501), and a token issued on the old primary is
# void there: tokens live in the old primary's shared memory and are not
# replicated, so the new primary fails closed (reason unknown_token).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf',
    "shared_preload_libraries = 'deletion_firewall'");
$primary->start;
$primary->safe_psql('postgres', q{
CREATE EXTENSION deletion_firewall;
CREATE ROLE agent LOGIN;
GRANT deletion_firewall_agent TO agent;
CREATE ROLE alice LOGIN;
GRANT deletion_firewall_approver TO alice;
CREATE TABLE t1 (id int);
INSERT INTO t1 SELECT generate_series(1, 500);
CREATE TABLE t2 (id int);
ALTER TABLE t1 OWNER TO agent;
ALTER TABLE t2 OWNER TO agent;
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

# Run SQL as a user on a node; returns (exit code, stdout, stderr), errors
# with their SQLSTATE.
sub run_as
{
    my ($node, $user, $sql) = @_;
    my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
        extra_params => [ '-U', $user ], on_error_stop => 1);
    return ($ret, $out, $err);
}

my ($ret, $out, $err);

# --- the standby ------------------------------------------------------------

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
($ret, $out, $err) = run_as($standby, 'agent', 'SELECT count(*) FROM t1');
is($out, '500', 'the agent reads on the standby');

my $standby_log_start = -s $standby->logfile;
for my $sql ('DROP TABLE t1', 'DELETE FROM t1', 'TRUNCATE t1', 'DELETE FROM t1 WHERE id = 1')
{
    ($ret, $out, $err) = run_as($standby, 'agent', $sql);
    isnt($ret, 0, "standby: the agent's $sql fails");
    like($err, qr/ERROR:  25006: cannot execute \w+( TABLE)? in a read-only transaction/,
        "standby: $sql is refused by PostgreSQL (25006, read-only transaction)");
    unlike($err, qr/deletion_firewall/, "standby: $sql: not by the firewall");
}
is($standby->safe_psql('postgres', 'SELECT count(*) FROM deletion_firewall.events'),
    '0', 'the standby\'s firewall recorded nothing');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM deletion_firewall.blocked'),
    '0', '... and has no request to approve');
my $standby_log = slurp_file($standby->logfile, $standby_log_start);
unlike($standby_log, qr/deletion_firewall refused|event=refused/, 'no firewall refusal in the standby\'s log');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM t1'), '500', 'every row is still there');

# --- a token issued on the old primary ---------------------------------------

my $token = $primary->safe_psql('postgres',
    "SET ROLE alice; SELECT deletion_firewall.confirm('drop', 'public.t2', agent => 'agent')");
like($token, qr/^dfw_[0-9a-f]{32}$/, 'alice issues a token on the primary');
is($primary->safe_psql('postgres', "SELECT count(*) FROM deletion_firewall.tokens"), '1',
    'the primary holds it');
$primary->wait_for_catchup($standby);

# --- failover ----------------------------------------------------------------

$primary->stop;
$standby->promote;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 'f', 'the standby was promoted');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM deletion_firewall.tokens'), '0',
    'the new primary holds no token');

($ret, $out, $err) = run_as($standby, 'agent', 'DROP TABLE t1');
isnt($ret, 0, 'new primary: the agent\'s DROP fails');
like($err, qr/ERROR:  42501: deletion_firewall refused drop of public\.t1/, '... refused by the firewall (42501)');
($ret, $out, $err) = run_as($standby, 'agent', 'DELETE FROM t1');
like($err, qr/ERROR:  42501: deletion_firewall refused/, 'new primary: a mass DELETE is refused too');

($ret, $out, $err) = run_as($standby, 'agent', "SET deletion_firewall.token = '$token';\nDROP TABLE t2;");
isnt($ret, 0, 'new primary: DROP with the old primary\'s token fails');
like($err, qr/ERROR:  42501: deletion_firewall refused drop of public\.t2/, '... refused by the firewall (42501): fail closed');
like($err, qr/not known to the server/, '... saying the token is not known to this server');
is($standby->safe_psql('postgres',
    "SELECT reason FROM deletion_firewall.events WHERE event = 'refused' AND target LIKE 'public.t2%' ORDER BY at DESC LIMIT 1"),
    'unknown_token', 'the event\'s reason is unknown_token');
is($standby->safe_psql('postgres', "SELECT to_regclass('public.t2') IS NOT NULL"), 't', 't2 still exists');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t1'), '500', 'and every row of t1');

# a token issued on the new primary works there
$token = $standby->safe_psql('postgres',
    "SET ROLE alice; SELECT deletion_firewall.confirm('drop', 'public.t2', agent => 'agent')");
($ret, $out, $err) = run_as($standby, 'agent', "SET deletion_firewall.token = '$token';\nDROP TABLE t2;");
is($ret, 0, 'a token issued on the new primary lets the agent drop t2');

$standby->stop;
done_testing();
