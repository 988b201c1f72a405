# What an agent's tool sees of a refusal through a real driver:
# node-postgres (npm package pg, locked in tests/node/package-lock.json).
#
# MCP servers and agent tools built on node-postgres usually pass on
# err.message alone, not the DETAIL or HINT.  So the message itself must
# carry the request id and say that a human must approve; err.code is
# 42501.  tests/node/refused.js connects as the agent, runs a DROP TABLE
# and prints err.message and err.code as JSON.
#
# node_modules is installed at test time with 'npm ci' into a temporary
# directory (npm's cache and HOME there too: the tests run as postgres from
# a copy in /tmp).  When node or npm is missing, or npm cannot reach the
# registry, this test fails with a message saying so; it never skips.

use strict;
use warnings;

use File::Copy;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;

sub find_program
{
	my ($name) = @_;
	my ($p) = grep { -x $_ }
	  ((map { "$_/$name" } split(/:/, $ENV{PATH} // '')), "/usr/bin/$name",
		"/usr/local/bin/$name");
	return $p;
}

my $nodejs = find_program('node');
my $npm = find_program('npm');
if (!defined $nodejs || !defined $npm)
{
	fail('node and npm are installed (Debian packages nodejs and npm; make test installs '
		  . 'them as root through tests/setup-deps.sh when the machine has no node)');
	done_testing();
	exit 1;
}

# tests/node, next to this file's directory
my $src = ($ENV{TESTDIR} // 'tests') . '/node';
$src = 'tests/node' unless -e "$src/package.json";
my $dir = PostgreSQL::Test::Utils::tempdir('node');
for my $f ('package.json', 'package-lock.json', 'refused.js')
{
	copy("$src/$f", "$dir/$f") or die "cannot copy $src/$f to $dir: $!";
}

# npm ci: exactly the locked versions, a private cache and HOME.
my ($npm_out, $npm_err) = ('', '');
my $npm_ok = eval {
	local $ENV{HOME} = $dir;
	local $ENV{npm_config_cache} = "$dir/npm-cache";
	local $ENV{npm_config_update_notifier} = 'false';
	local $ENV{npm_config_loglevel} = 'warn';
	IPC::Run::run([ $npm, 'ci', '--no-audit', '--no-fund' ],
		'<', \undef, '>', \$npm_out, '2>', \$npm_err,
		init => sub { chdir $dir or die "chdir $dir: $!" },
		IPC::Run::timeout(600));
};
if (!$npm_ok || !-e "$dir/node_modules/pg/package.json")
{
	fail("npm ci installs node-postgres from tests/node/package-lock.json "
		  . "(the npm registry must be reachable): $npm_err $@");
	done_testing();
	exit 1;
}
pass('npm ci installed node-postgres (pg '
	  . (slurp_file("$dir/node_modules/pg/package.json") =~ /"version":\s*"([^"]+)"/)[0] . ')');

my $node = DfwTest::node('nodepg');
$node->safe_psql(
	'postgres', q{
CREATE TABLE public.customers (id int PRIMARY KEY, name text);
INSERT INTO public.customers SELECT g, 'c' || g FROM generate_series(1, 50) g;
ALTER TABLE public.customers OWNER TO agent;
});

# Run refused.js as the agent; returns the decoded JSON line.
sub node_pg
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGUSER} = 'agent';
	local $ENV{PGDATABASE} = 'postgres';
	IPC::Run::run([ $nodejs, "$dir/refused.js", $sql ],
		'<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout(60));
	note "refused.js stdout: $out";
	note "refused.js stderr: $err" if $err ne '';
	my ($json) = $out =~ /^(\{.*\})\s*$/m;
	return defined $json ? JSON::PP::decode_json($json) : { message => "no JSON: $err", code => '' };
}

require JSON::PP;
my $e = node_pg('DROP TABLE public.customers');
is($e->{code}, '42501', 'node-postgres: err.code is 42501');
my ($req) = ($e->{message} // '') =~ /\b(req_[0-9a-f]+)\b/;
ok(defined $req, 'err.message alone contains the request id' . (defined $req ? " ($req)" : ''));
like($e->{message}, qr/a human must approve/, 'err.message alone says a human must approve');
like($e->{message}, qr/public\.customers/, 'err.message names the table');
like($node->safe_psql('postgres',
	"SELECT agent || ' ' || action || ' ' || target FROM deletion_firewall.blocked WHERE request_id = '$req'"),
	qr/^agent drop public\.customers(,|$)/, 'the request id is the one listed in deletion_firewall.blocked');
is($node->safe_psql('postgres', 'SELECT count(*) FROM public.customers'),
	'50', 'the table and its rows are intact');

done_testing();
