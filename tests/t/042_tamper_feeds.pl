# Issue 9 section 4 and issue 14 section 3, the routes that need a real
# server: replication slots (wal_level = logical), replication connections
# (walsender), and the SQL-level backstop when the library is not preloaded
# (issue 9 section 6).  Each attack by an agent is refused and the state is
# shown intact; a human (or a non-agent replication role) does the same.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('feeds');
$node->init(allows_streaming => 'logical');
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'deletion_firewall'\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION deletion_firewall;
	CREATE ROLE agent LOGIN REPLICATION;
	GRANT deletion_firewall_agent TO agent;
	CREATE ROLE sup LOGIN SUPERUSER;
	GRANT deletion_firewall_agent TO sup;
	CREATE ROLE repl LOGIN REPLICATION;
	CREATE TABLE public.orders (id int PRIMARY KEY, note text);
	GRANT ALL ON public.orders TO agent;
	GRANT CREATE ON SCHEMA public TO agent;
	SELECT pg_create_logical_replication_slot('cdc', 'test_decoding');
	INSERT INTO public.orders SELECT g, 'o' || g FROM generate_series(1, 10) g;
});

sub psql_as
{
	my ($user, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		extra_params => [ '-U', $user ], on_error_stop => 1);
	return ($ret, $out, $err);
}

sub refused_tamper
{
	my ($user, $sql, $name) = @_;
	my ($ret, $out, $err) = psql_as($user, $sql);
	isnt($ret, 0, "$name: fails");
	like($err, qr/42501: deletion_firewall refused .*: this cannot be approved/,
		"$name: refused by the firewall with 42501");
	return $err;
}

sub refused_backstop
{
	my ($user, $sql, $name) = @_;
	my ($ret, $out, $err) = psql_as($user, $sql);
	isnt($ret, 0, "$name: fails");
	like($err, qr/ERROR:  42501: deletion_firewall is not loaded: .* refused for agent/,
		"$name: refused by the backstop with 42501");
	return $err;
}

sub ok_as
{
	my ($user, $sql, $name) = @_;
	my ($ret, $out, $err) = psql_as($user, $sql);
	is($ret, 0, $name) or diag($err);
	return $out;
}

my $cdc_state = q{SELECT confirmed_flush_lsn, restart_lsn FROM pg_replication_slots WHERE slot_name = 'cdc'};
my $before = $node->safe_psql('postgres', $cdc_state);
my $changes = q{SELECT count(*) FROM pg_logical_slot_peek_changes('cdc', NULL, NULL)};
my $pending = $node->safe_psql('postgres', $changes);
ok($pending > 0, "the CDC slot holds $pending changes");

# --- slots the session did not create --------------------------------------
for my $who ('agent', 'sup')
{
	refused_tamper($who, q{SELECT pg_replication_slot_advance('cdc', pg_current_wal_lsn())},
		"$who: advancing the CDC slot");
	refused_tamper($who, q{SELECT * FROM pg_logical_slot_get_changes('cdc', NULL, NULL)},
		"$who: consuming the CDC slot");
	refused_tamper($who, q{SELECT * FROM pg_logical_slot_get_binary_changes('cdc', NULL, NULL, 'force-binary', '1')},
		"$who: consuming the CDC slot (binary)");
	refused_tamper($who, q{SELECT pg_drop_replication_slot('cdc')},
		"$who: dropping the CDC slot");
	# peeking is read-only
	ok_as($who, q{SELECT count(*) FROM pg_logical_slot_peek_changes('cdc', NULL, NULL)},
		"$who: peeking at the CDC slot is allowed");
}
is($node->safe_psql('postgres', $cdc_state), $before, 'CDC slot position unchanged');
is($node->safe_psql('postgres', $changes), $pending, 'CDC slot still holds its changes');

# --- while another slot exists, the agent's own temporary slot is not enough
ok_as('agent', q{SELECT 1 FROM pg_create_logical_replication_slot('mine0', 'test_decoding', true)},
	'agent: creating a temporary slot of its own is allowed');
refused_tamper('agent', q{
	SELECT 1 FROM pg_create_logical_replication_slot('mine1', 'test_decoding', true);
	SELECT count(*) FROM pg_logical_slot_get_changes('mine1', NULL, NULL);
}, 'agent: consuming its own slot while the CDC slot exists (cannot tell them apart)');
# with a slot of its own, the CDC slot is still not the agent's
refused_tamper('agent', q{
	SELECT 1 FROM pg_create_logical_replication_slot('mine2', 'test_decoding', true);
	SELECT count(*) FROM pg_logical_slot_get_changes('mine2', NULL, NULL);
	SELECT * FROM pg_logical_slot_get_changes('cdc', NULL, NULL);
}, 'agent with a slot of its own: consuming the CDC slot');
# a name the firewall cannot see (a column): fail closed
refused_tamper('agent', q{
	SELECT 1 FROM pg_create_logical_replication_slot('mine3', 'test_decoding', true);
	SELECT count(*) FROM pg_replication_slots s,
	       LATERAL pg_logical_slot_get_changes(s.slot_name, NULL, NULL)
	 WHERE s.slot_name = 'mine3';
}, 'agent: a slot named by a column');
# a failed creation under the CDC slot's name does not make it the agent's
refused_tamper('agent', q{
	\set ON_ERROR_STOP 0
	SELECT pg_create_logical_replication_slot('cdc', 'test_decoding');
	\set ON_ERROR_STOP 1
	SELECT 1 FROM pg_create_logical_replication_slot('mine4', 'test_decoding', true);
	SELECT pg_replication_slot_advance('cdc', pg_current_wal_lsn());
}, 'agent: a failed creation under the CDC name');
# through a prepared statement's parameter: fail closed
refused_tamper('agent', q{
	SELECT 1 FROM pg_create_logical_replication_slot('mine5', 'test_decoding', true);
	PREPARE adv(name) AS SELECT pg_replication_slot_advance($1, pg_current_wal_lsn());
	SET plan_cache_mode = force_generic_plan;
	EXECUTE adv('cdc');
}, 'agent: slot named by a parameter');
refused_tamper('sup', q{SELECT pg_replication_origin_create('o1'); SELECT pg_replication_origin_advance('o1', '0/1')},
	'superuser agent: advancing a replication origin');
is($node->safe_psql('postgres', $cdc_state), $before, 'CDC slot position still unchanged');
is($node->safe_psql('postgres', $changes) >= $pending, 1, 'CDC slot still holds its changes');

# --- replication connections ---------------------------------------------------
sub replication_as
{
	my ($user, $mode) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', 'IDENTIFY_SYSTEM',
		connstr => $node->connstr('postgres') . " user=$user replication=$mode");
	return ($ret, $out, $err);
}
for my $who ('agent', 'sup')
{
	for my $mode ('database', 'true')
	{
		my ($ret, $out, $err) = replication_as($who, $mode);
		isnt($ret, 0, "$who: replication=$mode connection fails");
		like($err, qr/deletion_firewall refused a replication connection for agent "$who"/,
			"$who: replication=$mode refused by the firewall");
	}
}
{
	my ($ret, $out, $err) = $node->psql('postgres', 'DROP_REPLICATION_SLOT cdc',
		connstr => $node->connstr('postgres') . " user=agent replication=database");
	isnt($ret, 0, 'agent: DROP_REPLICATION_SLOT over a walsender fails');
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc'}),
	'1', 'the CDC slot still exists');
for my $who ('postgres', 'repl')
{
	for my $mode ('database', 'true')
	{
		my ($ret, $out, $err) = replication_as($who, $mode);
		is($ret, 0, "$who (not an agent): replication=$mode works") or diag($err);
	}
}
{
	my $dir = $node->basedir . '/backup_repl';
	my $ret = system_log('pg_basebackup', '-D', $dir, '-h', $node->host,
		'-p', $node->port, '-U', 'repl', '-X', 'none', '--no-sync');
	is($ret, 0, 'pg_basebackup by a human replication role works');
	$ret = system_log('pg_basebackup', '-D', $dir . '_agent', '-h', $node->host,
		'-p', $node->port, '-U', 'agent', '-X', 'none', '--no-sync');
	isnt($ret, 0, 'pg_basebackup by an agent is refused');
}

# --- a human does what the agent may not -----------------------------------------
$node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_logical_slot_get_changes('cdc', NULL, NULL);
	SELECT 1 FROM pg_replication_slot_advance('cdc', pg_current_wal_lsn());
	SELECT pg_replication_origin_drop('o1');
});
isnt($node->safe_psql('postgres', $cdc_state), $before, 'a human consumes and advances the CDC slot');

# --- with no other slot, the agent's own temporary slots are its own --------------
$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('cdc')});
ok_as('agent', q{
	SELECT 1 FROM pg_create_logical_replication_slot('mine', 'test_decoding', true);
	INSERT INTO public.orders VALUES (100, 'x');
	SELECT count(*) FROM pg_logical_slot_get_changes('mine', NULL, NULL);
	SELECT 1 FROM pg_replication_slot_advance('mine', pg_current_wal_lsn());
	SELECT 1 FROM pg_copy_logical_replication_slot('mine', 'mycopy', true);
	SELECT count(*) FROM pg_logical_slot_get_changes('mycopy', NULL, NULL);
	SELECT pg_drop_replication_slot('mycopy');
	SELECT pg_drop_replication_slot('mine');
}, 'agent alone: create, consume, advance, copy and drop temporary slots of its own session');
refused_tamper('agent', q{
	SELECT 1 FROM pg_create_logical_replication_slot('persist', 'test_decoding');
	SELECT count(*) FROM pg_logical_slot_get_changes('persist', NULL, NULL);
}, 'agent: consuming a persistent slot (nothing proves whose it is)');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_replication_slots WHERE NOT temporary}), '1',
	'the persistent slot stays for a human to look at');
$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('persist')});

# --- not preloaded: the SQL-level backstop -----------------------------------------
$node->safe_psql('postgres', q{
	CREATE TABLE public.keep (id int);
	INSERT INTO public.keep SELECT generate_series(1, 100);
	GRANT ALL ON public.keep TO agent;
	ALTER TABLE public.keep OWNER TO agent;
	CREATE TABLE public.human_t (id int);
});
ok_as('agent', 'CREATE TABLE public.agent_new (id int); DROP TABLE public.agent_new',
	'loaded: the backstop does not get in the way of the agent\'s own DDL');
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''\n");
$node->restart;
my $err = refused_backstop('agent', 'DROP TABLE public.keep', 'not preloaded: agent DROP TABLE');
like($err, qr/deletion_firewall is not loaded/, 'the message says the firewall is not loaded');
refused_backstop('agent', 'ALTER TABLE public.keep ADD COLUMN x int', 'not preloaded: agent ALTER TABLE');
refused_backstop('agent', q{SET deletion_firewall.enabled = on; SET deletion_firewall.agent_role = 'nobody'; DROP TABLE public.keep},
	'not preloaded: agent DROP TABLE after setting placeholders');
refused_backstop('sup', q{SET session_replication_role = replica; DROP TABLE public.keep},
	'not preloaded: superuser agent DROP TABLE under session_replication_role = replica');
refused_backstop('sup', q{SET ROLE postgres; DROP TABLE public.keep},
	'not preloaded: superuser agent DROP TABLE after SET ROLE to a human');
is($node->safe_psql('postgres', 'SELECT count(*) FROM public.keep'), '100',
	'not preloaded: the agent\'s table is intact');
ok_as('postgres', 'DROP TABLE public.human_t', 'not preloaded: a human may still DROP TABLE');
ok_as('repl', 'SELECT 1', 'not preloaded: other roles connect');

$node->append_conf('postgresql.conf', "shared_preload_libraries = 'deletion_firewall'\n");
$node->restart;
ok_as('agent', 'ALTER TABLE public.keep ADD COLUMN x int',
	'preloaded again: the backstop steps back');

$node->stop;
done_testing();
