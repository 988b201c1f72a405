# dfwctl, the approvers' command-line tool: pending, approve, confirm,
# tokens, revoke, events, its errors and its help.
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

my $node = DfwTest::node('dfwctl', extra_conf => "log_statement = 'all'\n");

$node->safe_psql(
    'postgres', q{
CREATE TABLE orders (id int PRIMARY KEY);
INSERT INTO orders SELECT generate_series(1, 500);
CREATE TABLE t1 (id int);
CREATE TABLE t2 (id int);
CREATE TABLE t3 (id int);
ALTER TABLE orders OWNER TO agent;
ALTER TABLE t1 OWNER TO agent;
ALTER TABLE t2 OWNER TO agent;
ALTER TABLE t3 OWNER TO agent;
CREATE DATABASE noext;
});

# Run dfwctl; returns (exit status, stdout, stderr).
sub dfwctl
{
    my (@args) = @_;
    my ($out, $err) = ('', '');
    IPC::Run::run([ $dfwctl, @args ], '<', \undef, '>', \$out, '2>', \$err,
        IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
    my $rc = $? >> 8;
    note "dfwctl @args: rc=$rc\nstdout:\n$out\nstderr:\n$err";
    return ($rc, $out, $err);
}

my @alice = ('-d', $node->connstr('postgres'), '-U', 'alice');

my ($rc, $out, $err);

# --- help and usage errors -------------------------------------------------

($rc, $out, $err) = dfwctl('--help');
is($rc, 0, '--help exits 0');
like($out, qr/Usage:.*pending.*approve.*confirm.*tokens.*revoke.*events.*watch/s,
    '--help lists every command');
($rc, $out, $err) = dfwctl('--version');
like($out, qr/^dfwctl \(deletion_firewall\) \d/, '--version');
($rc, $out, $err) = dfwctl();
isnt($rc, 0, 'no command: non-zero exit');
like($err, qr/^dfwctl: error: [^\n]*\n\z/, '... with a one-line error');
($rc, $out, $err) = dfwctl(@alice, 'frobnicate');
isnt($rc, 0, 'unknown command: non-zero exit');
like($err, qr/unknown command/, '... named as such');
($rc, $out, $err) = dfwctl(@alice, 'confirm', 'drop');
isnt($rc, 0, 'confirm without a target: non-zero exit');
($rc, $out, $err) = dfwctl(@alice, 'pending', '--bogus');
isnt($rc, 0, 'unknown option: non-zero exit');

# --- connection and privilege errors --------------------------------------

($rc, $out, $err) = dfwctl('-d', 'host=/nonexistent port=1', 'pending');
is($rc, 1, 'no server: exit 1');
like($err, qr/^dfwctl: error: [^\n]+\n\z/, '... with a one-line error');

($rc, $out, $err) = dfwctl('-d', $node->connstr('noext'), 'pending');
is($rc, 1, 'database without the extension: exit 1');
like($err, qr/^dfwctl: error: .*CREATE EXTENSION deletion_firewall[^\n]*\n\z/,
    '... saying to create the extension, on one line');

($rc, $out, $err) = dfwctl('-d', $node->connstr('postgres'), '-U', 'bob', 'pending');
is($rc, 1, 'a non-approver: exit 1');
like($err, qr/^dfwctl: error: permission denied[^\n]*\n\z/, '... permission denied, one line');

($rc, $out, $err) = dfwctl(@alice, 'pending');
is($rc, 0, 'pending with nothing refused: exit 0');
like($out, qr/no pending requests/, '... says so');

# --- refused, approved with dfwctl, retried -------------------------------

my $agent = agent_session();
my $sql;

$sql = 'DROP TABLE t1;';
($out, $err) = run_in($agent, $sql);
my $req = refused($err, 'DROP TABLE t1');

($rc, $out, $err) = dfwctl(@alice, 'pending');
is($rc, 0, 'pending: exit 0');
like($out, qr/^REQUEST\s+AGE\s+ALIVE\s+AGENT\s+DB\s+ACTION\s+TARGET\s+ROWS\s+PARAMS\s+STATEMENT\n/,
    'pending prints a header');
like($out, qr/^\Q$req\E\s+\d+s\s+yes\s+agent\s+postgres\s+drop\s+public\.t1\b.*DROP TABLE t1;$/m,
    'pending lists the refused request with its age, alive, agent, action, target and statement');

# PGDATABASE/PGUSER work like for psql
{
    local $ENV{PGHOST} = $node->host;
    local $ENV{PGPORT} = $node->port;
    local $ENV{PGDATABASE} = 'postgres';
    local $ENV{PGUSER} = 'alice';
    ($rc, $out, $err) = dfwctl('pending');
    like($out, qr/^\Q$req\E /m, 'pending connects with the PG* environment variables');
}

($rc, $out, $err) = dfwctl(@alice, 'approve', $req, '--for', '5m');
is($rc, 0, 'approve: exit 0');
like($out, qr/^approved \Q$req\E as (\S+): .*within (5m00s|4m59s)$/m,
    'approve says what it approved, for 5 minutes');
my ($apr) = $out =~ /^approved \S+ as (\S+):/m;

($rc, $out, $err) = dfwctl(@alice, 'tokens');
like($out, qr/^\Q$apr\E\s+drop\s+public\.t1\b.*\s+1\s+alice\s+(4m5\ds|5m00s)$/m,
    'tokens lists the approval, issued by alice, expiring in 5 minutes');

($rc, $out, $err) = dfwctl(@alice, 'pending');
unlike($out, qr/\Q$req\E/, 'an approved request is no longer pending');

($out, $err) = run_in($agent, $sql);
is($err, '', 'the agent retries the approved DROP: allowed');
is(exists_table('t1'), 'f', 't1 is gone');

($rc, $out, $err) = dfwctl(@alice, 'approve', 'req_0000000000');
is($rc, 1, 'approving an unknown request: exit 1');
like($err, qr/^dfwctl: error: .*does not exist[^\n]*\n\z/, '... one-line error');

# --- the agent itself cannot use dfwctl to approve -------------------------

($out, $err) = run_in($agent, 'DROP TABLE t2;');
$req = refused($err, 'DROP TABLE t2');
($rc, $out, $err) = dfwctl('-d', $node->connstr('postgres'), '-U', 'agent', 'approve', $req);
is($rc, 1, 'the agent running dfwctl approve: exit 1');
like($err, qr/^dfwctl: error: deletion_firewall refused[^\n]*\n\z/,
    '... refused by the firewall, one line');
($rc, $out, $err) = dfwctl('-d', $node->connstr('postgres'), '-U', 'agent', 'confirm', 'drop', '*');
is($rc, 1, 'the agent running dfwctl confirm: exit 1');
is($out, '', '... and no token is printed');
($out, $err) = run_in($agent, 'DROP TABLE t2;');
refused($err, 'retry after the agent tried to approve itself');
is(exists_table('t2'), 't', 't2 still exists');

# --- confirm: a token for the agent to set --------------------------------

($rc, $out, $err) = dfwctl(@alice, 'confirm', 'drop', 'public.t2', '--for', '10m', '--agent', 'agent');
is($rc, 0, 'confirm: exit 0');
like($out, qr/^dfw_[0-9a-f]{32}\n\z/, 'confirm prints the token alone');
chomp(my $token = $out);

($rc, $out, $err) = dfwctl(@alice, 'tokens');
like($out, qr/^tok_\S+\s+drop\s+public\.t2\s+postgres\s+agent\s+no limit\s+1\s+alice\s+(9m5\ds|10m00s)$/m,
    'tokens lists it: action, target, database, agent, no row limit, one use, 10 minutes');
unlike($out, qr/\Q$token\E/, 'tokens never shows the token itself');

($out, $err) = run_in($agent, "SET deletion_firewall.token = '$token';");
is($err, '', 'the agent sets the token');
($out, $err) = run_in($agent, 'DROP TABLE t2;');
is($err, '', 'the agent drops t2 with the token');
is(exists_table('t2'), 'f', 't2 is gone');
($out, $err) = run_in($agent, 'RESET deletion_firewall.token;');

# row limit, uses, another database, interval text
($rc, $out, $err) = dfwctl(@alice, 'confirm', 'delete', 'public.orders',
    '--max-rows', '300', '--uses', '2', '--for', '1 hour');
is($rc, 0, 'confirm with --max-rows, --uses and an interval');
chomp($token = $out);
($rc, $out, $err) = dfwctl(@alice, 'tokens');
like($out, qr/^tok_\S+\s+delete\s+public\.orders\s+postgres\s+\(any\)\s+300\s+2\s+alice\s+(59m5\ds|1h00m)$/m,
    'tokens shows the row limit, any agent, two uses, one hour');
($out, $err) = run_in($agent, "SET deletion_firewall.token = '$token';");
($out, $err) = run_in($agent, 'DELETE FROM orders WHERE id > 100;');
refused($err, 'deleting 400 rows with a 300-row token');
($out, $err) = run_in($agent, 'DELETE FROM orders WHERE id > 250;');
is($err, '', 'deleting 250 rows with the 300-row token');
is($node->safe_psql('postgres', 'SELECT count(*) FROM orders'), '250', '250 rows remain');
($out, $err) = run_in($agent, 'RESET deletion_firewall.token;');

($rc, $out, $err) = dfwctl(@alice, 'confirm', 'drop', 'public.t3', '--dbname', 'noext');
is($rc, 0, 'confirm --dbname for another database');
chomp($token = $out);
($out, $err) = run_in($agent, "SET deletion_firewall.token = '$token';");
($out, $err) = run_in($agent, 'DROP TABLE t3;');
refused($err, 'a token for database noext used in postgres');
($out, $err) = run_in($agent, 'RESET deletion_firewall.token;');

($rc, $out, $err) = dfwctl(@alice, 'confirm', 'drop', 'public.t3', '--any-database', '--agent', 'alice');
is($rc, 0, 'confirm --any-database for another agent role');
($rc, $out, $err) = dfwctl(@alice, 'tokens');
like($out, qr/^tok_\S+\s+drop\s+public\.t3\s+\(any\)\s+alice\s/m,
    'tokens shows a token valid in any database');

($rc, $out, $err) = dfwctl(@alice, 'confirm', 'explode', '*');
is($rc, 1, 'confirm with a bad action: exit 1');
like($err, qr/^dfwctl: error: invalid deletion_firewall action "explode"\n\z/,
    '... the server error, on one line');
($rc, $out, $err) = dfwctl(@alice, 'confirm', 'drop', '*', '--agent', 'nosuchrole');
is($rc, 1, 'confirm for an unknown agent role: exit 1');
($rc, $out, $err) = dfwctl(@alice, 'confirm', 'drop', '*', '--for', 'soon');
is($rc, 1, 'confirm with a bad duration: exit 1');
like($err, qr/interval/, '... the server names the bad interval');

# Parameters, never SQL text: quotes in arguments are just data.
($rc, $out, $err) = dfwctl(@alice, 'confirm', 'drop', q{public.it's"odd*});
is($rc, 0, 'a target with quotes is passed as a parameter');
($rc, $out, $err) = dfwctl(@alice, 'tokens');
like($out, qr/\Qpublic.it's"odd*\E/, '... and shows as given');

# --- revoke ---------------------------------------------------------------

($rc, $out, $err) = dfwctl(@alice, 'confirm', 'drop', 'public.t3', '--agent', 'agent');
chomp($token = $out);
my $tok_id = $node->safe_psql('postgres',
    "SELECT token_id FROM deletion_firewall.tokens WHERE target = 'public.t3' AND agent = 'agent'::regrole");
($rc, $out, $err) = dfwctl(@alice, 'revoke', $tok_id);
is($rc, 0, 'revoke: exit 0');
like($out, qr/^revoked \Q$tok_id\E$/m, 'revoke says so');
($rc, $out, $err) = dfwctl(@alice, 'tokens');
unlike($out, qr/\Q$tok_id\E/, 'a revoked token is no longer listed');
($out, $err) = run_in($agent, "SET deletion_firewall.token = '$token';");
($out, $err) = run_in($agent, 'DROP TABLE t3;');
refused($err, 'a revoked token');
is(exists_table('t3'), 't', 't3 still exists');
($out, $err) = run_in($agent, 'RESET deletion_firewall.token;');
($rc, $out, $err) = dfwctl(@alice, 'revoke', $tok_id);
is($rc, 1, 'revoking it again: exit 1');
like($err, qr/^dfwctl: error: no live token[^\n]*\n\z/, '... one-line error');

# --- alive, escaping, cuts --------------------------------------------------

# a refused session that ends: pending says it is no longer alive
$node->safe_psql('postgres', q{
CREATE TABLE gone (id int); ALTER TABLE gone OWNER TO agent;
CREATE TABLE esc2 (id int); ALTER TABLE esc2 OWNER TO agent;
});
my $agent2 = agent_session();
($out, $err) = run_in($agent2, 'DROP TABLE gone;');
my $req_gone = refused($err, 'DROP TABLE gone');
($rc, $out, $err) = dfwctl(@alice, 'pending');
like($out, qr/^\Q$req_gone\E\s+\d+s\s+yes\s+agent\s/m, 'pending: alive "yes" while the session is connected');
$agent2->quit;
$node->poll_query_until('postgres',
    "SELECT NOT alive FROM deletion_firewall.blocked WHERE request_id = '$req_gone'")
  or die 'the ended session is still alive';
($rc, $out, $err) = dfwctl(@alice, 'pending');
like($out, qr/^\Q$req_gone\E\s+\d+s\s+no\s+agent\s/m, 'pending: alive "no" once the session ended');

# control characters an agent wrote are shown escaped, never sent raw
my $weird = "we\e[2J\a\tird";
$node->safe_psql('postgres', qq{CREATE TABLE "$weird" (id int); ALTER TABLE "$weird" OWNER TO agent;});
($out, $err) = run_in($agent, qq{DROP TABLE "$weird" /* \e]0;pwned\a */;});
my $req_esc = refused($err, 'DROP of a table with control characters in its name');
($rc, $out, $err) = dfwctl(@alice, 'pending');
unlike($out, qr/[\x00-\x08\x0b-\x1f\x7f]/, 'pending prints no control character (other than newlines)');
like($out, qr/^\Q$req_esc\E\s.*\Qpublic."we\x1b[2J\x07\tird"\E/m, 'the target is shown with \\x1b, \\x07 and \\t');
like($out, qr/\QDROP TABLE "we\x1b[2J\x07\tird" \/* \x1b]0;pwned\x07 *\/;\E/, 'so is the statement');
($rc, $out, $err) = dfwctl(@alice, 'events');
unlike($out, qr/[\x00-\x08\x0b-\x1f\x7f]/, 'events prints no control character either');
($rc, $out, $err) = dfwctl(@alice, 'approve', $req_esc);
is($rc, 0, 'the escaped request can be approved');

# C1 controls (CSI, U+009B) and bidirectional overrides (U+202E) too, and
# bytes that are not UTF-8 are shown as bytes
my $bidi = "bi\xc2\x9b2J\xe2\x80\xaedi";    # UTF-8 bytes
$node->safe_psql('postgres', qq{CREATE TABLE "$bidi" (id int); ALTER TABLE "$bidi" OWNER TO agent;});
($out, $err) = run_in($agent, qq{DROP TABLE "$bidi";});
my $req_bidi = refused($err, 'DROP of a table with a C1 control and U+202E in its name');
($rc, $out, $err) = dfwctl(@alice, 'pending');
unlike($out, qr/\xc2\x9b|\xe2\x80\xae/, 'pending prints no raw U+009B or U+202E');
my $bidi_shown = q{public."bi\u009b2J\u202edi"};
like($out, qr/^\Q$req_bidi\E\s.*\Q$bidi_shown\E/m, 'they are shown as \\u009b and \\u202e');
($rc, $out, $err) = dfwctl(@alice, 'approve', $req_bidi);
($out, $err) = run_in($agent, qq{DROP TABLE "$bidi";});
is($err, '', 'and approved, the agent drops it');

# a long statement is cut, visibly; --full shows it whole
my $long = 'DROP TABLE IF EXISTS esc2, '
  . join(', ', map { sprintf('no_such_table_%03d', $_) } 1 .. 10) . ';';
($out, $err) = run_in($agent, $long);
my $req_long = refused($err, 'a long DROP');
($rc, $out, $err) = dfwctl(@alice, 'pending');
like($out, qr/^\Q$req_long\E\s.*DROP TABLE IF EXISTS esc2, .*\.\.\.\[\+\d+ chars\]$/m,
    'pending cuts a long statement with a visible mark');
like($out, qr/pending --full/, '... and says how to see it whole');
($rc, $out, $err) = dfwctl(@alice, 'pending', '--full');
like($out, qr/^\Q$req_long\E\s.*\Q$long\E$/m, 'pending --full shows it whole');

# --- approve --any-session --------------------------------------------------

($rc, $out, $err) = dfwctl(@alice, 'approve', $req_long, '--any-session');
is($rc, 0, 'approve --any-session: exit 0');
like($out, qr/^approved \Q$req_long\E as \S+: any session of the refused agent role/m,
    '... says any session of the agent role may retry');
like(slurp_file($node->logfile),
    qr/deletion_firewall\.approve\(\$1::text, \$2::interval, any_session => true\)/,
    '... and called approve(..., any_session => true)');

# --- a database still on the 1.0 SQL ----------------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE old10');
$node->safe_psql('old10', "CREATE EXTENSION deletion_firewall VERSION '1.0'");
is($node->safe_psql('old10',
    "SELECT count(*) FROM pg_attribute WHERE attrelid = 'deletion_firewall.blocked'::regclass AND attname IN ('alive', 'params')"),
    '0', 'database old10 has the 1.0 views');
my @old = ('-d', $node->connstr('old10'), '-U', 'alice');
($out, $err) = run_in($agent, 'DROP TABLE esc2;');
my $req_old = refused($err, 'DROP TABLE esc2');
($rc, $out, $err) = dfwctl(@old, 'pending');
is($rc, 0, 'pending on a 1.0 database: exit 0');
like($out, qr/^\Q$req_old\E\s+\d+s\s+\?\s+agent\s+postgres\s+drop\s+public\.esc2\b/m,
    '... lists the request, alive unknown ("?")');
($rc, $out, $err) = dfwctl(@old, 'approve', $req_old, '--any-session');
is($rc, 1, 'approve --any-session on a 1.0 database: exit 1');
like($err, qr/^dfwctl: error: --any-session needs version 1\.1 .*ALTER EXTENSION deletion_firewall UPDATE[^\n]*\n\z/,
    '... saying the extension must be updated');
($rc, $out, $err) = dfwctl(@old, 'approve', $req_old);
is($rc, 0, 'approve on a 1.0 database: exit 0');
($rc, $out, $err) = dfwctl(@old, 'events');
is($rc, 0, 'events on a 1.0 database: exit 0');
like($out, qr/^AT\s+EVENT\s+ACTION\s+TARGET\s+AGENT\s+DB\s+ROWS\s+REQUEST\s+TOKEN\s+BY\s+REASON\n/,
    '... without the LSN column');
($out, $err) = run_in($agent, 'DROP TABLE esc2;');
is($err, '', 'the approval made through the 1.0 API works');
is(exists_table('esc2'), 'f', 'esc2 is gone');

# --- events ---------------------------------------------------------------

($rc, $out, $err) = dfwctl(@alice, 'events');
is($rc, 0, 'events: exit 0');
like($out, qr/^AT\s+EVENT\s+ACTION\s+TARGET\s+AGENT\s+DB\s+ROWS\s+REQUEST\s+TOKEN\s+BY\s+REASON\s+LSN\n/,
    'events prints a header, with the LSN column of the 1.1 SQL');
for my $event (qw(refused approved confirmed issued revoked))
{
    like($out, qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+$event\s/m, "events shows a \"$event\" event");
}
like($out, qr/^\S+ \S+\s+revoked\s.*\Q$tok_id\E\s+alice\s/m, 'the revocation names the token and who');

$agent->quit;
$node->stop;
done_testing();
