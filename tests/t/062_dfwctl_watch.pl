# dfwctl watch: new refusals appear within a second and are answered y/N,
# through standard input (a pipe, then a file) and through a pseudo-terminal
# when IO::Pty is installed.  watch ends cleanly on end of input and on
# SIGINT.
#
# The binary under test is $ENV{DFWCTL}, or dfwctl from PATH.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;
use Time::HiRes qw(time);
use JSON::PP;
use Encode ();

my $dfwctl = $ENV{DFWCTL} // 'dfwctl';
my $have_pty = eval { require IO::Pty; 1 };

my $node = DfwTest::node('watch');

$node->safe_psql(
    'postgres', qq{
DO \$\$
BEGIN
    FOR i IN 1..40 LOOP
        EXECUTE format('CREATE TABLE t%s (id int)', i);
        EXECUTE format('ALTER TABLE t%s OWNER TO agent', i);
    END LOOP;
END
\$\$;
});

my @watch = ($dfwctl, '-d', $node->connstr('postgres'), '-U', 'alice', 'watch');

# Pump a running dfwctl until its output matches; returns how long it took,
# or undef on timeout or if it exited.
sub wait_for
{
    my ($h, $outref, $re, $secs) = @_;
    my $start = time;
    $secs //= $PostgreSQL::Test::Utils::timeout_default;
    while ($$outref !~ $re)
    {
        return undef if time - $start > $secs || !$h->pumpable;
        $h->pump_nb;
        select(undef, undef, undef, 0.02);
    }
    return time - $start;
}

# Keep pumping for a while (output keeps arriving, nothing awaited).
sub pump_for
{
    my ($h, $secs) = @_;
    my $start = time;
    while (time - $start < $secs && $h->pumpable)
    {
        $h->pump_nb;
        select(undef, undef, undef, 0.02);
    }
}

sub prompt_re
{
    my ($req) = @_;
    return qr/\Q$req\E.*approve\? \[y\/N\] /s;
}

my $agent = agent_session();
my ($out, $err, $took);

# A refusal from before watch starts: it must not be asked about.
($out, $err) = run_in($agent, 'DROP TABLE t12;');
my $old_req = refused($err, 'a refusal before watch starts');

# --- answers through a pipe ------------------------------------------------

my ($in, $wout, $werr) = ('', '', '');
my $h = IPC::Run::start(\@watch, '<', \$in, '>', \$wout, '2>', \$werr,
    IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok(defined wait_for($h, \$wout, qr/watching for refused requests/),
    'watch (stdin a pipe) starts');

($out, $err) = run_in($agent, 'DROP TABLE t1;');
my $req = refused($err, 'DROP TABLE t1');
$took = wait_for($h, \$wout, prompt_re($req));
ok(defined $took, 'watch shows the new refusal and asks approve? [y/N]');
note sprintf('the refusal was shown after %.2f s', $took // -1);
cmp_ok($took // 99, '<', 3, 'it appears promptly (it polls twice a second)');
like($wout, qr/agent "agent" in database "postgres".*action:\s+drop.*target:\s+public\.t1\b.*statement:\s+DROP TABLE t1;/s,
    'watch shows agent, database, action, target and statement');

$in .= "y\n";
ok(defined wait_for($h, \$wout, qr/approved \Q$req\E as \S+/), '"y" approves it');
($out, $err) = run_in($agent, 'DROP TABLE t1;');
is($err, '', 'the agent retries: allowed');
is(exists_table('t1'), 'f', 't1 is gone');

($out, $err) = run_in($agent, 'DROP TABLE t2;');
$req = refused($err, 'DROP TABLE t2');
ok(defined wait_for($h, \$wout, prompt_re($req)), 'watch asks about t2');
$in .= "\n";
ok(defined wait_for($h, \$wout, qr/skipped \Q$req\E/), 'Enter skips it');
($out, $err) = run_in($agent, 'DROP TABLE t2;');
my $req_t2 = refused($err, 'retry of a skipped request');
is(exists_table('t2'), 't', 't2 still exists');

# the retry's refusal is a new request: answer "n"
ok(defined wait_for($h, \$wout, prompt_re($req_t2)), 'the retry is asked about too');
$in .= "n\n";
ok(defined wait_for($h, \$wout, qr/skipped \Q$req_t2\E/), '"n" skips it');

# two refusals between polls: both asked, oldest first
($out, $err) = run_in($agent, 'DROP TABLE t3;');
my $req_a = refused($err, 'DROP TABLE t3');
($out, $err) = run_in($agent, 'DROP TABLE t4;');
my $req_b = refused($err, 'DROP TABLE t4');
ok(defined wait_for($h, \$wout, prompt_re($req_a)), 'the first of two refusals is asked');
$in .= "yes\n";
ok(defined wait_for($h, \$wout, prompt_re($req_b)), 'then the second');
$in .= "nope\n";
ok(defined wait_for($h, \$wout, qr/skipped \Q$req_b\E/), 'an answer other than y/yes skips');
like($wout, qr/approved \Q$req_a\E/, '"yes" approved the first');
($out, $err) = run_in($agent, 'DROP TABLE t3;');
is($err, '', 'the approval is for the session that was refused on t3');
is(exists_table('t3'), 'f', 't3 is gone');

unlike($wout, qr/\Q$old_req\E/, 'the refusal from before watch started was not asked');
is($werr, '', 'nothing on stderr');

# end of input: watch ends, status 0
$took = time;
ok($h->finish, 'watch exits with status 0 at end of input');
cmp_ok(time - $took, '<', 3, '... promptly');

# --- SIGINT --------------------------------------------------------------

($in, $wout, $werr) = ('', '', '');
$h = IPC::Run::start(\@watch, '<', \$in, '>', \$wout, '2>', \$werr,
    IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok(defined wait_for($h, \$wout, qr/watching for refused requests/), 'watch starts again');
unlike($wout, qr/approve\?/, 'no earlier refusal is asked about');
$h->signal('INT');
$took = time;
pump_for($h, 0.2);
ok($h->finish, 'watch exits with status 0 on SIGINT');
cmp_ok(time - $took, '<', 3, '... promptly');
is($werr, '', '... without an error');

# SIGINT while it waits for an answer
($in, $wout, $werr) = ('', '', '');
$h = IPC::Run::start(\@watch, '<', \$in, '>', \$wout, '2>', \$werr,
    IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok(defined wait_for($h, \$wout, qr/watching for refused requests/), 'watch starts');
($out, $err) = run_in($agent, 'DROP TABLE t5;');
$req = refused($err, 'DROP TABLE t5');
ok(defined wait_for($h, \$wout, prompt_re($req)), 'watch asks about t5');
$h->signal('INT');
ok($h->finish, 'SIGINT at the question: status 0');
like($wout, qr/not approved \Q$req\E/, 'it says the request was not approved');
unlike($wout, qr/^approved/m, 'and nothing was approved');
($out, $err) = run_in($agent, 'DROP TABLE t5;');
refused($err, 'retry after the interrupted question');

# --- answers from a file (like: echo y | dfwctl watch) --------------------

my $answers = $node->basedir . '/answers';
PostgreSQL::Test::Utils::append_to_file($answers, "y\n");
($wout, $werr) = ('', '');
$h = IPC::Run::start(\@watch, '<', $answers, '>', \$wout, '2>', \$werr,
    IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok(defined wait_for($h, \$wout, qr/watching for refused requests/),
    'watch with answers from a file starts');
pump_for($h, 0.7);
ok($h->pumpable, 'it keeps watching while an answer is left');
($out, $err) = run_in($agent, 'DROP TABLE t6;');
$req = refused($err, 'DROP TABLE t6');
ok(defined wait_for($h, \$wout, qr/approved \Q$req\E/), 'the line read ahead answers the next question');
$took = time;
ok($h->finish, 'then, input used up, watch exits with status 0');
($out, $err) = run_in($agent, 'DROP TABLE t6;');
is($err, '', 'the agent retries: allowed');

# --- several pending requests: a queue; approved elsewhere or ended drop out -

($in, $wout, $werr) = ('', '', '');
$h = IPC::Run::start(\@watch, '<', \$in, '>', \$wout, '2>', \$werr,
    IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok(defined wait_for($h, \$wout, qr/watching for refused requests/), 'watch (queue) starts');
my $s2 = agent_session();
my $s3 = agent_session();
($out, $err) = run_in($agent, 'DROP TABLE t20;');
my $q1 = refused($err, 'DROP TABLE t20');
ok(defined wait_for($h, \$wout, prompt_re($q1)), 'watch asks about the first request');
like($wout, qr/session:\s+still connected/, 'it says the refused session is still connected');
($out, $err) = run_in($s2, 'DROP TABLE t21;');
my $q2 = refused($err, 'DROP TABLE t21 (second session)');
($out, $err) = run_in($s3, 'DROP TABLE t22;');
my $q3 = refused($err, 'DROP TABLE t22 (third session)');
pump_for($h, 1.2);
unlike($wout, qr/\Q$q2\E|\Q$q3\E/, 'new requests wait in the queue while a question is open');

$node->safe_psql('postgres', "SET ROLE alice; SELECT deletion_firewall.approve('$q1')");
ok(defined wait_for($h, \$wout, qr/\Q$q1\E was approved elsewhere: no longer asked/),
    'a request approved elsewhere drops out of the open question');
ok(defined wait_for($h, \$wout, prompt_re($q2)), 'then the next one in the queue is asked');
like($wout, qr/\Q$q2\E.*queue:\s+1 more waiting/s, '... saying one more is waiting');

$s2->quit;
ok(defined wait_for($h, \$wout, qr/\Q$q2\E can no longer be retried: its session ended: no longer asked/),
    'a request whose session ended drops out of the open question');
ok(defined wait_for($h, \$wout, prompt_re($q3)), 'then the third is asked');
$in .= "y\n";
ok(defined wait_for($h, \$wout, qr/approved \Q$q3\E as \S+/), '"y" approves it');
($out, $err) = run_in($s3, 'DROP TABLE t22;');
is($err, '', 'the third session retries: allowed');
($out, $err) = run_in($agent, 'DROP TABLE t20;');
is($err, '', 'the request approved elsewhere: allowed too');
unlike($wout, qr/approved \Q$q2\E/, 'the ended session\'s request was never approved');

# a cut statement must be seen in full before "y" approves it
my $long = 'DROP TABLE IF EXISTS t23, '
  . join(', ', map { sprintf('no_such_table_%03d', $_) } 1 .. 10) . ';';
($out, $err) = run_in($agent, $long);
my $ql = refused($err, 'a long DROP');
ok(defined wait_for($h, \$wout, qr/\Q$ql\E.*\.\.\.\[\+\d+ chars\].*approve\? \[y\/N\/f\] /s),
    'a long statement is cut with a mark, and the prompt offers f');
$in .= "y\n";
ok(defined wait_for($h, \$wout, qr/not approved yet: the statement was cut/), '"y" before seeing it whole does not approve');
$in .= "f\n";
ok(defined wait_for($h, \$wout, qr/statement: \Q$long\E\n.*approve\? \[y\/N\/f\] /s), '"f" shows it whole and asks again');
$in .= "y\n";
ok(defined wait_for($h, \$wout, qr/approved \Q$ql\E as \S+/), 'then "y" approves it');
$h->signal('INT');
ok($h->finish, 'watch (queue) exits with status 0 on SIGINT');
is($werr, '', '... nothing on stderr');
$s3->quit;

# --- watch --json -------------------------------------------------------

my @json_watch = (@watch, '--json');
my ($jout, $jerr) = ('', '');
$h = IPC::Run::start(\@json_watch, '<', \undef, '>', \$jout, '2>', \$jerr,
    IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok(defined wait_for($h, \$jerr, qr/watching for refused requests/),
    'watch --json starts (the note goes to stderr)');
pump_for($h, 0.7);
ok($h->pumpable, 'it does not stop at the end of its (empty) standard input');
my $weird = "t\e[2J\a\x01\"\"q\xe2\x80\xae";    # as an SQL identifier: t ESC [2J BEL SOH " q
$node->safe_psql('postgres', qq{CREATE TABLE "$weird" (id int); ALTER TABLE "$weird" OWNER TO agent;});
my $stmt = qq{DROP TABLE "$weird"\n\t/* \e]0;x\a */;};
($out, $err) = run_in($agent, $stmt);
my $qj = refused($err, 'DROP with control characters, for --json');
($out, $err) = run_in($agent, 'DROP TABLE t24;');
my $qj2 = refused($err, 'DROP TABLE t24, for --json');
ok(defined wait_for($h, \$jout, qr/\Q$qj2\E.*\n/), 'watch --json prints the refusals');
$h->signal('INT');
ok($h->finish, 'watch --json exits with status 0 on SIGINT');
unlike($jout, qr/[\x00-\x09\x0b-\x1f\x7f]/, 'no raw control character in the JSON output');
# the server escapes what an agent wrote (ESC is the four characters
# \x1b, a backslash is doubled); JSON then escapes the backslash
like($jout, qr/\\\\x1b\[2J\\\\x07\\\\x01/, 'control characters arrive escaped by the server (\\x1b)');
like($jout, qr/\\u202e/, 'a bidirectional override is \\u202e');
unlike($jout, qr/\xe2\x80\xae/, '... never raw');
my @lines = split /\n/, $jout;
is(scalar(@lines), 2, 'one line per refusal');
my @objs = map { eval { decode_json($_) } } @lines;
is(scalar(@objs), 2, 'each line is a JSON object');
is_deeply([ sort keys %{ $objs[0] } ],
    [ sort qw(request_id at dbname agent action target rows statement params reason alive) ],
    'with the keys request_id, at, dbname, agent, action, target, rows, statement, params, reason, alive');
is($objs[0]{request_id}, $qj, 'request_id');
my ($shown_stmt, $shown_target) = split /\|/, $node->safe_psql('postgres',
	"SELECT statement || '|' || target FROM deletion_firewall.blocked WHERE request_id = '$qj'"), 2;
is($objs[0]{statement}, Encode::decode('UTF-8', $shown_stmt), 'the statement round-trips exactly as blocked shows it');
like($objs[0]{statement}, qr/^DROP TABLE "t\\x1b\[2J\\x07\\x01""q\\u202e"\\n\\t/, '... escaped by the server');
like($objs[0]{target}, qr/^\Q${\ Encode::decode('UTF-8', $shown_target) }\E/, 'the target too');
is($objs[0]{dbname}, 'postgres', 'dbname');
is($objs[0]{agent}, 'agent', 'agent');
is($objs[0]{action}, 'drop', 'action');
like($objs[0]{reason}, qr/^[a-z_]+$/, 'reason');
ok(JSON::PP::is_bool($objs[0]{alive}) && $objs[0]{alive}, 'alive is JSON true');
like($objs[0]{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'at is an ISO 8601 UTC time');
is($objs[1]{request_id}, $qj2, 'the second line is the second refusal');
unlike($jout, qr/approve\?/, 'it never asks');

# --- watch --exec -------------------------------------------------------

my $hookout = $node->basedir . '/hook.out';
my @exec_watch = (@watch, '--exec', "cat >> '$hookout'; echo >> '$hookout'; exit 3");
($jout, $jerr) = ('', '');
$h = IPC::Run::start(\@exec_watch, '<', \undef, '>', \$jout, '2>', \$jerr,
    IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok(defined wait_for($h, \$jerr, qr/watching for refused requests/), 'watch --exec starts');
($out, $err) = run_in($agent, 'DROP TABLE t25;');
my $qe1 = refused($err, 'DROP TABLE t25, for --exec');
ok(defined wait_for($h, \$jerr, qr/the --exec command for \Q$qe1\E exited with status 3/),
    'a failing command is reported on stderr');
($out, $err) = run_in($agent, 'DROP TABLE t26;');
my $qe2 = refused($err, 'DROP TABLE t26, for --exec');
ok(defined wait_for($h, \$jerr, qr/the --exec command for \Q$qe2\E exited/),
    'and watch goes on to the next refusal');
$h->signal('INT');
ok($h->finish, 'watch --exec exits with status 0 on SIGINT');
is($jout, '', 'without --json nothing goes to stdout');
my @hook = grep { $_ ne '' } split /\n/, slurp_file($hookout);
is(scalar(@hook), 2, 'the command ran once per refusal');
is(eval { decode_json($hook[0])->{request_id} }, $qe1, 'with the JSON object of the first on its stdin');
is(eval { decode_json($hook[1])->{request_id} }, $qe2, 'and of the second');

# --json and --exec together: JSON on stdout, the command's output on stderr
@exec_watch = (@watch, '--json', '--exec', 'echo hook-said-hi');
($jout, $jerr) = ('', '');
$h = IPC::Run::start(\@exec_watch, '<', \undef, '>', \$jout, '2>', \$jerr,
    IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok(defined wait_for($h, \$jerr, qr/watching for refused requests/), 'watch --json --exec starts');
($out, $err) = run_in($agent, 'DROP TABLE t27;');
my $qe3 = refused($err, 'DROP TABLE t27, for --json --exec');
ok(defined wait_for($h, \$jerr, qr/hook-said-hi/), 'the command\'s output goes to stderr');
ok(defined wait_for($h, \$jout, qr/\Q$qe3\E.*\n/), 'the JSON line to stdout');
$h->signal('INT');
ok($h->finish, 'status 0 on SIGINT');
unlike($jout, qr/hook-said-hi/, 'stdout stays JSON only');


# --- a pseudo-terminal -----------------------------------------------------

SKIP:
{
    skip 'IO::Pty is not installed', 15 unless $have_pty;

    ($in, $wout, $werr) = ('', '', '');
    $h = IPC::Run::start(\@watch, '<pty<', \$in, '>pty>', \$wout, '2>', \$werr,
        IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
    ok(defined wait_for($h, \$wout, qr/watching for refused requests.*Ctrl-C/),
        'watch on a terminal starts');

    # typed before anything was asked: must not answer the next question
    $in .= "y\n";
    pump_for($h, 1.2);
    ($out, $err) = run_in($agent, 'DROP TABLE t7;');
    $req = refused($err, 'DROP TABLE t7');
    $took = wait_for($h, \$wout, prompt_re($req));
    ok(defined $took, 'watch on a terminal asks about t7');
    cmp_ok($took // 99, '<', 3, 'it appears promptly');
    pump_for($h, 1);
    unlike($wout, qr/approved/, 'a "y" typed before the question answers nothing');
    $in .= "n\n";
    ok(defined wait_for($h, \$wout, qr/skipped \Q$req\E/), '"n" on the terminal skips');
    ($out, $err) = run_in($agent, 'DROP TABLE t7;');
    $req = refused($err, 'retry of t7');
    is(exists_table('t7'), 't', 't7 still exists');

    ok(defined wait_for($h, \$wout, prompt_re($req)), 'the retry is asked about');
    $in .= "y\n";
    ok(defined wait_for($h, \$wout, qr/approved \Q$req\E/), '"y" on the terminal approves');
    ($out, $err) = run_in($agent, 'DROP TABLE t7;');
    is($err, '', 'the agent retries: allowed');
    is(exists_table('t7'), 'f', 't7 is gone');

    # Ctrl-D at an empty line: end of input
    $in .= "\x04";
    ok($h->finish, 'Ctrl-D ends watch with status 0');
}

$agent->quit;
$node->stop;
done_testing();
