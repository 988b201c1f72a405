# dfwctl doctor: a clean set-up has no finding and exits 0; each bad set-up
# yields its RISK line (exit 1) or NOTE line (exit 0; 1 with --strict).
#
# The binary under test is $ENV{DFWCTL}, or dfwctl from PATH.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;

my $dfwctl = $ENV{DFWCTL} // 'dfwctl';

my $node = DfwTest::node('doctor', extra_conf => "deletion_firewall.max_tokens = 16\n");

# pg_hba.conf: agents need a password; everyone else (the test's own
# superuser, alice, bob) comes in by trust over the socket.
sub set_hba
{
    my (@lines) = @_;
    open my $fh, '>', $node->data_dir . '/pg_hba.conf' or die $!;
    print $fh map { "$_\n" } @lines;
    close $fh;
    $node->reload;
    # the postmaster re-reads pg_hba.conf on SIGHUP; wait until it shows
    $node->poll_query_until('postgres',
        'SELECT count(*) = ' . scalar(@lines) . ' FROM pg_hba_file_rules')
      or die 'pg_hba.conf was not reloaded';
}
my @clean_hba = ('local all agent scram-sha-256', 'local all all trust');
set_hba(@clean_hba);

# Run dfwctl doctor; returns (exit status, stdout, stderr).
sub doctor
{
    my (@args) = @_;
    my ($out, $err) = ('', '');
    IPC::Run::run([ $dfwctl, '-d', $node->connstr('postgres'), 'doctor', @args ],
        '<', \undef, '>', \$out, '2>', \$err,
        IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
    my $rc = $? >> 8;
    note "doctor @args: rc=$rc\nstdout:\n$out\nstderr:\n$err";
    return ($rc, $out, $err);
}

# A bad set-up: its SQL, the RISK line expected, then the SQL that undoes it.
sub risk
{
    my ($name, $setup, $re, $undo) = @_;
    $node->safe_psql('postgres', $setup) if $setup;
    my ($rc, $out, $err) = doctor();
    is($rc, 1, "$name: doctor exits 1");
    like($out, qr/^RISK  $re.* -- fix: \S/m, "$name: the RISK line, with its fix");
    like($out, qr/\A((RISK|NOTE)  [^\n]* -- fix: [^\n]+\n)+\z/, "$name: stdout is finding lines only");
    like($err, qr/^dfwctl: doctor: [1-9]\d* risks?, \d+ notes?\n\z/, "$name: the count on stderr");
    $node->safe_psql('postgres', $undo) if $undo;
}

my ($rc, $out, $err);

# --- clean -----------------------------------------------------------------

($rc, $out, $err) = doctor();
is($rc, 0, 'a clean set-up: exit 0');
is($out, '', '... and no finding on stdout');
is($err, "dfwctl: doctor: no findings\n", '... says so on stderr');

# --- roles -----------------------------------------------------------------

risk('a superuser agent', 'ALTER ROLE agent SUPERUSER',
    qr/agent role "agent" is a superuser/, 'ALTER ROLE agent NOSUPERUSER');
risk('a replication agent', 'ALTER ROLE agent REPLICATION',
    qr/agent role "agent" has REPLICATION/, 'ALTER ROLE agent NOREPLICATION');
risk('an agent member of a human\'s login role', 'GRANT bob TO agent',
    qr/agent role "agent" is a member of login role "bob", which is not an agent/,
    'REVOKE bob FROM agent');
risk('an agent through a group that is a member of a human\'s login role',
    'CREATE ROLE helpers; GRANT helpers TO agent; GRANT bob TO helpers',
    qr/agent role "agent" is a member of login role "bob"/,
    'DROP ROLE helpers');
risk('a role both agent and approver', 'GRANT deletion_firewall_approver TO agent',
    qr/role "agent" is both an agent and an approver/,
    'REVOKE deletion_firewall_approver FROM agent');
risk('a superuser nested agent',
    'CREATE ROLE bot LOGIN SUPERUSER; GRANT agent TO bot',
    qr/agent role "bot" is a superuser/, 'DROP ROLE bot');

# --- pg_hba.conf -------------------------------------------------------------

set_hba('local all agent trust', @clean_hba);
risk('a trust line naming the agent', undef,
    qr/pg_hba\.conf line 1 \(local \.\.\. trust\) lets agent role\(s\) agent connect without a password/);
set_hba('local all +deletion_firewall_agent trust', @clean_hba);
risk('a trust line for a group the agent belongs to', undef,
    qr/pg_hba\.conf line 1 \(local \.\.\. trust\) lets agent role\(s\) .*\bagent\b/);
set_hba('local all all trust');
risk('a trust line for all, before any line for agents', undef,
    qr/pg_hba\.conf line 1 \(local \.\.\. trust\) lets agent role\(s\) .*\bagent\b/);
set_hba('local all bob peer', @clean_hba);
($rc, $out, $err) = doctor();
is($rc, 0, 'a peer line: only a note, exit 0');
like($out, qr/^NOTE  pg_hba\.conf line 1 uses peer for users bob.* -- fix: \S/m, '... the NOTE line');
unlike($out, qr/^RISK/m, '... and no risk (the agent line comes before the trust line)');
($rc, $out, $err) = doctor('--strict');
is($rc, 1, 'doctor --strict: a note alone exits 1');
set_hba(@clean_hba);

# --- settings per role and database ----------------------------------------

risk('max_rows = -1 for the agent role',
    'ALTER ROLE agent SET deletion_firewall.max_rows = -1',
    qr/deletion_firewall\.max_rows = -1 for role "agent": agents may delete/,
    'ALTER ROLE agent RESET deletion_firewall.max_rows');
risk('window_rows = -1 for a database',
    'ALTER DATABASE postgres SET deletion_firewall.window_rows = -1',
    qr/deletion_firewall\.window_rows = -1 in database "postgres"/,
    'ALTER DATABASE postgres RESET deletion_firewall.window_rows');
($rc, $out, $err) = doctor();
is($rc, 0, 'back to clean: exit 0');
$node->safe_psql('postgres', 'ALTER ROLE bob SET deletion_firewall.max_rows = -1');
($rc, $out, $err) = doctor();
is($rc, 0, 'max_rows = -1 for a human role is no risk');
$node->safe_psql('postgres', 'ALTER ROLE bob RESET deletion_firewall.max_rows');
risk('mode = warn for the agent role',
    "ALTER ROLE agent SET deletion_firewall.mode = 'warn'",
    qr/deletion_firewall\.mode = 'warn' for role "agent"/,
    'ALTER ROLE agent RESET deletion_firewall.mode');

# --- notes: a database without the extension, token slots ------------------

$node->safe_psql('postgres', 'CREATE DATABASE noext');
($rc, $out, $err) = doctor();
is($rc, 0, 'a database without the extension: a note, exit 0');
like($out, qr/^NOTE  database "noext" has no deletion_firewall extension.* -- fix: CREATE EXTENSION/m,
    '... the NOTE line');
unlike($out, qr/template/, 'templates are not checked');
$node->safe_psql('noext', 'CREATE EXTENSION deletion_firewall');

$node->safe_psql('postgres',
    "SELECT deletion_firewall.confirm('drop', 'public.x' || i || '*') FROM generate_series(1, 13) i");
($rc, $out, $err) = doctor();
is($rc, 0, 'token slots nearly full: a note, exit 0');
like($out, qr/^NOTE  13 of 16 token slots are in use/m, '... the NOTE line');
$node->safe_psql('postgres',
    'SELECT deletion_firewall.revoke(token_id) FROM deletion_firewall.tokens');

# --- a permanent object that depends on a temporary one --------------------

my $s = $node->background_psql('postgres', on_error_stop => 0);
$s->query('CREATE TYPE pg_temp.tt AS (a int);');
$s->query('CREATE FUNCTION public.uses_temp(pg_temp.tt) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;');
my $made = $node->safe_psql('postgres',
    "SELECT count(*) FROM pg_proc WHERE proname = 'uses_temp' AND pronamespace = 'public'::regnamespace");
SKIP:
{
    skip 'PostgreSQL did not create the function', 2 unless $made eq '1';
    ($rc, $out, $err) = doctor();
    is($rc, 1, 'a permanent function on a temporary type: exit 1');
    like($out, qr/^RISK  in database "postgres", permanent function uses_temp\(.*\) depends on temporary type pg_temp_\d+\.tt/m,
        '... the RISK line');
}
$s->quit;
$node->poll_query_until('postgres',
    "SELECT count(*) = 0 FROM pg_proc WHERE proname = 'uses_temp'");

# --- as an approver that is not a superuser --------------------------------

{
    my ($aout, $aerr) = ('', '');
    IPC::Run::run([ $dfwctl, '-d', $node->connstr('postgres'), '-U', 'alice', 'doctor' ],
        '<', \undef, '>', \$aout, '2>', \$aerr,
        IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
    note "doctor as alice: rc=$?\n$aout\n$aerr";
    is($? >> 8, 0, 'as alice (approver, not superuser): exit 0 on a clean set-up');
    like($aout, qr/^NOTE  cannot check pg_hba\.conf/m, '... saying what it cannot check');
}

# --- settings in the server configuration -----------------------------------

# reload and wait until new sessions see the setting's value
sub reload_until
{
    my ($name, $value) = @_;
    $node->reload;
    $node->poll_query_until('postgres', "SELECT current_setting('$name') = '$value'")
      or die "$name did not become $value";
}

for my $case (
    [ 'deletion_firewall.mode', 'warn', 'enforce', qr/deletion_firewall\.mode = 'warn' in the server configuration/ ],
    [ 'deletion_firewall.max_rows', '-1', '100', qr/deletion_firewall\.max_rows = -1 in the server configuration/ ],
    [ 'deletion_firewall.enabled', 'off', 'on', qr/deletion_firewall\.enabled = off in the server configuration: nothing is enforced/ ])
{
    my ($name, $bad, $good, $re) = @$case;
    my $conf = $node->data_dir . '/postgresql.conf';
    my $before = slurp_file($conf);
    $node->append_conf('postgresql.conf', "$name = '$bad'");
    reload_until($name, $bad);
    risk("$name = '$bad' in postgresql.conf", undef, $re);
    open my $fh, '>', $conf or die $!;
    print $fh $before;
    close $fh;
    reload_until($name, $good);
}

# --- the library not preloaded ---------------------------------------------

($rc, $out, $err) = doctor();
is($rc, 0, 'clean again: exit 0');
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->restart;
risk('the library not preloaded', undef,
    qr/deletion_firewall is not in shared_preload_libraries \(''\): nothing is enforced/);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_stat_statements,deletion_firewall'");
$node->restart;
($rc, $out, $err) = doctor();
is($rc, 0, 'preloaded after another library: exit 0');

$node->stop;
done_testing();
