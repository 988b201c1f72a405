# Approvals and tokens through a real connection pooler: pgbouncer
# (Debian's package) in transaction pooling mode in front of the node.
#
# In transaction mode each transaction of a client may run on another
# server backend, so an approval attached to the refused backend is of no
# use to the client: approve(..., any_session => true) attaches it to the
# agent's login role, the statement and its objects instead.  This test
# forces the retry onto another backend (pool_size 2, the first backend
# held busy inside another client's transaction) and shows:
#
#   - the refused backend lives on in the pool (blocked.alive is true);
#   - the any_session approval lets the same statement run once on the
#     other backend, and a second identical retry is refused;
#   - approving, without any_session, a request whose backend has ended is
#     an error (55000);
#   - the SET LOCAL token pattern: inside BEGIN ... COMMIT a token set with
#     SET LOCAL confirms the DELETE, and nothing is left on the pooled
#     backend after COMMIT.
#
# pgbouncer must be installed (tests/setup-deps.sh installs it): without it
# this test fails, it does not skip.

use strict;
use warnings;

use IO::Socket::INET;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;

my ($pgbouncer) = grep { -x $_ }
  ((map { "$_/pgbouncer" } split(/:/, $ENV{PATH} // '')),
	'/usr/sbin/pgbouncer', '/usr/bin/pgbouncer');
if (!defined $pgbouncer)
{
	fail('pgbouncer is installed (Debian package pgbouncer; make test installs it '
		  . 'as root through tests/setup-deps.sh, or run: apt-get install pgbouncer)');
	done_testing();
	exit 1;
}
note "pgbouncer: $pgbouncer";

my $node = DfwTest::node('pooler');
$node->safe_psql(
	'postgres', q{
CREATE TABLE public.orders (id int PRIMARY KEY, note text);
INSERT INTO public.orders SELECT g, 'n' || g FROM generate_series(1, 5000) g;
GRANT SELECT, DELETE ON public.orders TO agent;
});

# ---------------- pgbouncer, transaction pooling ----------------

my $dir = $node->basedir;
my $bport = PostgreSQL::Test::Cluster::get_free_port();
my $sockdir = $node->host;
my $pgport = $node->port;
PostgreSQL::Test::Utils::append_to_file("$dir/userlist.txt",
	join('', map { qq{"$_" ""\n} } qw(agent alice bob postgres)));
PostgreSQL::Test::Utils::append_to_file(
	"$dir/pgbouncer.ini", qq{[databases]
postgres = host=$sockdir port=$pgport dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 2
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 50
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
log_connections = 1
log_disconnections = 1
});

my ($b_out, $b_err) = ('', '');
my $bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ],
	'<', \undef, '>', \$b_out, '2>', \$b_err);
END { $bouncer->kill_kill if defined $bouncer; }

my $listening = 0;
for (1 .. 100)
{
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $bport, Proto => 'tcp');
	if ($s) { close $s; $listening = 1; last; }
	last unless $bouncer->pumpable;
	select(undef, undef, undef, 0.1);
}
ok($listening, "pgbouncer listens on 127.0.0.1:$bport")
  or diag("pgbouncer stdout: $b_out\nstderr: $b_err\nlog: "
	  . (-e "$dir/pgbouncer.log" ? slurp_file("$dir/pgbouncer.log") : '(none)'));

my $via = "host=127.0.0.1 port=$bport dbname=postgres";

# A psql session through pgbouncer (errors do not end it).
sub pooled_session
{
	my ($user) = @_;
	my $s = $node->background_psql(
		'postgres',
		on_error_stop => 0,
		extra_params => [ '-d', "$via user=$user" ]);
	$s->query_safe('\set VERBOSITY verbose');
	return $s;
}

sub as_alice
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', 'alice' ]);
}

sub count_orders
{
	return $node->safe_psql('postgres', 'SELECT count(*) FROM public.orders');
}

my ($out, $err);
my $delete = 'DELETE FROM public.orders WHERE id <= 150';

# ---------------- refused through the pooler ----------------

my $agent = pooled_session('agent');
($out, $err) = run_in($agent, 'SHOW port');
is($out, $pgport, 'the agent\'s session reaches the node through pgbouncer');

($out, $err) = run_in($agent, $delete);
my $req = refused($err, 'mass delete through pgbouncer');
is(count_orders(), '5000', 'nothing deleted');

my ($alive, $pid1) = split /\|/, as_alice(
	"SELECT alive, backend_pid FROM deletion_firewall.blocked WHERE request_id = '$req'");
is($alive, 't', 'the refused pooled backend lives on: blocked.alive is true');
like($pid1, qr/^\d+$/, "the refused backend is $pid1");
is($node->safe_psql('postgres',
	"SELECT usename FROM pg_stat_activity WHERE pid = $pid1"),
	'agent', 'it is a server connection of pgbouncer, logged in as agent');

my $apr = as_alice("SELECT deletion_firewall.approve('$req', any_session => true)");
like($apr, qr/^\S+$/, "alice approves the request for any session ($apr)");

# Hold the refused backend busy: another client of the agent's pool opens a
# transaction; pgbouncer hands it the idle server connection, the one that
# was refused.
my $holder = pooled_session('agent');
($out, $err) = run_in($holder, 'BEGIN');
($out, $err) = run_in($holder, 'SELECT pg_backend_pid()');
is($out, $pid1, 'a second client holds the refused backend inside a transaction');

# ---------------- the retry lands on another backend ----------------

($out, $err) = run_in($agent, $delete);
is($err, '', 'the retry of the same statement through pgbouncer succeeds');
is(count_orders(), '4850', 'the approved delete removed 150 rows');
($out, $err) = run_in($agent, 'SELECT pg_backend_pid()');
isnt($out, $pid1, "the agent's statements ran on another backend ($out)");

# Put the rows back (as a human): the same statement would delete 150 rows
# again.
$node->safe_psql('postgres',
	"INSERT INTO public.orders SELECT g, 'n' || g FROM generate_series(1, 150) g");
($out, $err) = run_in($agent, $delete);
refused($err, 'a second identical retry');
is(count_orders(), '5000', 'the approval was good for one statement only');

like(as_alice("SELECT string_agg(event, ',' ORDER BY at) FROM deletion_firewall.events WHERE request_id = '$req'"),
	qr/approved.*confirmed/, 'events record the approval and its use');

($out, $err) = run_in($holder, 'COMMIT');
is($err, '', 'the holder commits');

# ---------------- a request whose backend has ended ----------------

($out, $err) = run_in($agent, 'DELETE FROM public.orders WHERE id > 4700');
my $req2 = refused($err, 'another mass delete through pgbouncer');
my $pid2 = as_alice(
	"SELECT backend_pid FROM deletion_firewall.blocked WHERE request_id = '$req2'");
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid2)"),
	't', "the refused backend $pid2 is terminated");
ok($node->poll_query_until('postgres',
	"SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $pid2)"),
	'the backend is gone');
is(as_alice("SELECT alive FROM deletion_firewall.blocked WHERE request_id = '$req2'"),
	'f', 'blocked.alive is false');

my ($ret, $stdout, $stderr) = $node->psql(
	'postgres', "\\set VERBOSITY verbose\nSELECT deletion_firewall.approve('$req2')",
	extra_params => [ '-U', 'alice' ]);
isnt($ret, 0, 'approving a request whose session has ended fails');
like($stderr, qr/ERROR:\s+55000:/, '... with SQLSTATE 55000');
note "approve() of an ended session's request: $stderr";
is(count_orders(), '5000', 'rows intact');

# With any_session the same request may be approved: the retry runs in
# another of the agent's sessions (pgbouncer has dropped the dead server
# connection and opens a new one).
as_alice("SELECT deletion_firewall.approve('$req2', any_session => true)");
($out, $err) = run_in($agent, 'DELETE FROM public.orders WHERE id > 4700');
is($err, '', 'approved for any session, the retry of the ended session\'s request succeeds');
is(count_orders(), '4700', 'it removed 300 rows');

# ---------------- SET LOCAL token inside a transaction ----------------

my $tok = as_alice(
	"SELECT deletion_firewall.confirm(action => 'delete', target => 'public.orders')");
like($tok, qr/^dfw_/, 'alice issues a token');
($out, $err) = run_in($agent, 'BEGIN');
($out, $err) = run_in($agent, "SET LOCAL deletion_firewall.token = '$tok'");
is($err, '', 'SET LOCAL deletion_firewall.token inside BEGIN through pgbouncer');
($out, $err) = run_in($agent, 'DELETE FROM public.orders WHERE id <= 1000');
is($err, '', 'the DELETE in the same transaction is confirmed by the token');
($out, $err) = run_in($agent, 'COMMIT');
is($err, '', 'COMMIT');
is(count_orders(), '3700', 'the confirmed delete removed 1000 rows');

# After COMMIT nothing is left on the pooled backends: SET LOCAL ended
# with the transaction.
for my $i (1 .. 2)
{
	($out, $err) = run_in($agent, 'SELECT current_setting(\'deletion_firewall.token\')');
	is($out, '', "no token left on the pooled backend after COMMIT ($i)");
}
($out, $err) = run_in($agent, 'DELETE FROM public.orders WHERE id <= 2000');
refused($err, 'a later mass delete without a token');
is(count_orders(), '3700', 'rows intact');

$agent->quit;
$holder->quit;
$bouncer->kill_kill;
$bouncer = undef;

done_testing();
