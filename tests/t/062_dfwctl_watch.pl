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

my $dfwctl = $ENV{DFWCTL} // 'dfwctl';
my $have_pty = eval { require IO::Pty; 1 };

my $node = DfwTest::node('watch');

$node->safe_psql(
    'postgres', qq{
DO \$\$
BEGIN
    FOR i IN 1..12 LOOP
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
