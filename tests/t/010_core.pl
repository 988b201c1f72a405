# Core behaviour that needs more than one session or a server restart:
# preloading is required, a restart voids every token, a tag granted or
# revoked while the agent is connected applies at its next statement,
# refusals and confirmations are written to the server log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

# --- not preloaded: CREATE EXTENSION fails clearly
my $bare = PostgreSQL::Test::Cluster->new('bare');
$bare->init;
$bare->start;
my ($ret, $out, $err) = $bare->psql('postgres',
	"\\set VERBOSITY verbose\nCREATE EXTENSION deletion_firewall;");
isnt($ret, 0, 'CREATE EXTENSION fails without shared_preload_libraries');
like($err, qr/55000/, '... with SQLSTATE 55000 (object_not_in_prerequisite_state)');
like($err, qr/must be loaded via shared_preload_libraries/, '... and says why');
like($err, qr/HINT:.*shared_preload_libraries/, '... and how to fix it');
is($bare->safe_psql('postgres',
	"SELECT count(*) FROM pg_extension WHERE extname = 'deletion_firewall'"),
	'0', 'no extension was created');
$bare->stop;

# --- preloaded
my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'deletion_firewall'");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION deletion_firewall;
	CREATE ROLE agent LOGIN;
	GRANT deletion_firewall_agent TO agent;
	CREATE ROLE carol LOGIN;
	CREATE TABLE public.t1 (a int); ALTER TABLE public.t1 OWNER TO agent;
	CREATE TABLE public.t2 (a int); ALTER TABLE public.t2 OWNER TO carol;
	CREATE TABLE public.t3 (a int); ALTER TABLE public.t3 OWNER TO carol;
});

sub exists_table
{
	my ($name) = @_;
	return $node->safe_psql('postgres', "SELECT to_regclass('$name') IS NOT NULL");
}

# --- the audit log: a refusal, a token issued, a confirmed statement
my $log_offset = -s $node->logfile;
($ret, $out, $err) = $node->psql('postgres', 'DROP TABLE public.t1',
	extra_params => [ '-U', 'agent' ]);
like($err, qr/deletion_firewall refused drop of public\.t1 for agent "agent"/,
	'agent DROP refused');
my $token = $node->safe_psql('postgres',
	"SELECT deletion_firewall.confirm('drop', 'public.t1', agent => 'agent')");
like($token, qr/^dfw_[0-9a-f]{32}$/, 'token issued');

# --- a restart voids every token (shared memory only)
$node->restart;
($ret, $out, $err) = $node->psql('postgres',
	"SET deletion_firewall.token = '$token'; DROP TABLE public.t1;",
	extra_params => [ '-U', 'agent' ]);
like($err, qr/not known to the server/, 'token from before the restart is void');
is(exists_table('public.t1'), 't', 'table still there after the restart');

$token = $node->safe_psql('postgres',
	"SELECT deletion_firewall.confirm('drop', 'public.t1', agent => 'agent')");
($ret, $out, $err) = $node->psql('postgres',
	"SET deletion_firewall.token = '$token'; DROP TABLE public.t1;",
	extra_params => [ '-U', 'agent' ]);
is($ret, 0, 'a fresh token confirms the DROP');
is(exists_table('public.t1'), 'f', 'table dropped');

my $log = slurp_file($node->logfile, $log_offset);
like($log,
	qr/LOG:  deletion_firewall: event=refused action=drop target=public\.t1,public\.t1\[\][^\n]* agent=agent dbname=postgres request_id=req_[0-9a-f]+ reason=no_token/,
	'refusal logged with key=value fields');
like($log, qr/deletion_firewall: event=issued action=drop target=public\.t1 [^\n]*token_id=tok_[0-9a-f]+ by=/,
	'token issue logged');
like($log, qr/deletion_firewall: event=confirmed action=drop [^\n]*agent=agent[^\n]*token_id=tok_/,
	'confirmed statement logged');
my @audit = grep { /deletion_firewall: / } split /\n/, $log;
ok(@audit >= 3, 'audit lines found');
is((grep { /dfw_[0-9a-f]{32}/ } @audit), 0, 'no audit line carries a token');

# --- a tag granted or revoked while the agent is connected
my $carol = $node->background_psql('postgres', on_error_stop => 0,
	extra_params => [ '-U', 'carol' ]);
$carol->query('SELECT 1');
$node->safe_psql('postgres', 'GRANT deletion_firewall_agent TO carol');
$carol->query('DROP TABLE public.t2');
like($carol->{stderr}, qr/deletion_firewall refused drop of public\.t2 for agent "carol"/,
	'tag granted while connected: next statement refused');
is(exists_table('public.t2'), 't', 'public.t2 still there');
$carol->{stderr} = '';
$node->safe_psql('postgres', 'REVOKE deletion_firewall_agent FROM carol');
$carol->query('DROP TABLE public.t3');
is($carol->{stderr}, '', 'tag revoked while connected: next statement allowed');
is(exists_table('public.t3'), 'f', 'public.t3 dropped by the human');

# ... and inside an open transaction block too
$carol->query('BEGIN');
$node->safe_psql('postgres', 'GRANT deletion_firewall_agent TO carol');
$node->safe_psql('postgres',
	'CREATE TABLE public.t4 (a int); ALTER TABLE public.t4 OWNER TO carol');
$carol->{stderr} = '';
$carol->query('TRUNCATE public.t4');
like($carol->{stderr}, qr/deletion_firewall refused truncate of public\.t4 for agent "carol"/,
	'tag granted while a transaction block is open: next statement refused');
$carol->query('ROLLBACK');
$carol->quit;

# --- the extended protocol (Parse/Bind/Execute, prepared and unnamed):
# pgbench -M prepared|extended as the agent, a 300-row DELETE, refused
$node->safe_psql('postgres', q{
	CREATE TABLE public.ext (id int); ALTER TABLE public.ext OWNER TO agent;
	INSERT INTO public.ext SELECT generate_series(1, 300);
});
my $script = $node->basedir . '/ext.sql';
open(my $fh, '>', $script) or die $!;
print $fh "DELETE FROM public.ext WHERE id <= 300;\n";
close $fh;
for my $mode ('extended', 'prepared')
{
	my ($stdout, $stderr);
	my $ok = IPC::Run::run(
		[ 'pgbench', '-n', '-M', $mode, '-t', '2', '-f', $script,
		  '-h', $node->host, '-p', $node->port, '-U', 'agent', 'postgres' ],
		'>', \$stdout, '2>', \$stderr);
	ok(!$ok, "pgbench -M $mode: the agent's mass DELETE fails");
	like($stderr, qr/deletion_firewall refused delete of more than 100 rows/,
		"pgbench -M $mode: refused by the firewall");
}
is($node->safe_psql('postgres', 'SELECT count(*) FROM public.ext'), '300',
	'no row deleted over the extended protocol');

# --- two sessions racing for the last use of a token, many times: one wins
my $rounds = 15;
my $wins = 0;
my $both = 0;
for my $i (1 .. $rounds)
{
	$node->safe_psql('postgres', qq{
		CREATE TABLE public.ra_$i (a int); ALTER TABLE public.ra_$i OWNER TO agent;
		CREATE TABLE public.rb_$i (a int); ALTER TABLE public.rb_$i OWNER TO agent;
	});
	my $tok = $node->safe_psql('postgres',
		"SELECT deletion_firewall.confirm('drop', 'public.r*', agent => 'agent')");
	my @s;
	for my $who (0, 1)
	{
		$s[$who] = $node->background_psql('postgres', on_error_stop => 0,
			extra_params => [ '-U', 'agent' ]);
		$s[$who]->query("SET deletion_firewall.token = '$tok'");
	}
	# send both statements before reading either answer
	$s[0]->{stdin} .= "DROP TABLE public.ra_$i;\n\\echo done0\n";
	$s[1]->{stdin} .= "DROP TABLE public.rb_$i;\n\\echo done1\n";
	$s[0]->{run}->pump_nb;
	$s[1]->{run}->pump_nb;
	for my $who (0, 1)
	{
		$s[$who]->{run}->pump until $s[$who]->{stdout} =~ /done$who/;
	}
	$_->quit for @s;
	my $gone = $node->safe_psql('postgres',
		"SELECT (to_regclass('public.ra_$i') IS NULL)::int + (to_regclass('public.rb_$i') IS NULL)::int");
	$wins++ if $gone == 1;
	$both++ if $gone == 2;
}
is($wins, $rounds, "racing for a one-use token: exactly one of two drops won in each of $rounds rounds");
is($both, 0, 'never both');

$node->stop;
done_testing();
