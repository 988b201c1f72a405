# Approving a blocked request with SQL: deletion_firewall.approve().
#
# Two sessions: the agent's stays open across the approval, so that the
# refused session itself retries the very statement.  Then the negative
# cases: another session of the agent, another statement in the approved
# session, a second use, an expired approval, an agent approving itself
# and a human who is not an approver.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;

my $node = DfwTest::node('approve');

$node->safe_psql(
    'postgres', q{
CREATE TABLE orders (id int PRIMARY KEY, note text);
INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 500) g;
CREATE TABLE keep (id int);
CREATE TABLE old_stuff (id int);
ALTER TABLE orders OWNER TO agent;
ALTER TABLE keep OWNER TO agent;
ALTER TABLE old_stuff OWNER TO agent;
});

# An agent's psql session that stays open; errors do not end it.

# Run one statement in a background session; returns (stdout, stderr) of
# this statement alone.

# Assert a refusal (SQLSTATE 42501) and return its request id.

sub as_alice
{
    my ($sql) = @_;
    return $node->safe_psql('postgres', $sql, extra_params => [ '-U', 'alice' ]);
}

sub count_orders
{
    return $node->safe_psql('postgres', 'SELECT count(*) FROM orders');
}

my $agent = agent_session();
my ($out, $err);

# --- the agent is refused, alice approves, the agent retries -------------

my $delete = 'DELETE FROM orders WHERE id > 100;';
($out, $err) = run_in($agent, $delete);
my $req = refused($err, 'mass delete');
like($err, qr/deletion_firewall\.approve\('\Q$req\E'\)/,
    'the hint shows the approve() call for this request');
is(count_orders(), '500', 'nothing was deleted');

my $blocked = as_alice(
    "SELECT agent, action, target, statement FROM deletion_firewall.blocked WHERE request_id = '$req'");
is($blocked, "agent|delete|public.orders|$delete",
    'the request is listed in deletion_firewall.blocked');

my $apr = as_alice("SELECT deletion_firewall.approve('$req')");
like($apr, qr/^\S+$/, "approve() returns the approval's token id ($apr)");
is(as_alice("SELECT count(*) FROM deletion_firewall.tokens WHERE token_id = '$apr'"),
    '1', 'the approval is listed in deletion_firewall.tokens');

# --- another session of the same agent: not approved ----------------------

my $other = agent_session();
($out, $err) = run_in($other, $delete);
refused($err, 'same statement from another session of the agent');
is(count_orders(), '500', 'the other session deleted nothing');
$other->quit;

# --- another statement in the approved session: not approved --------------

($out, $err) = run_in($agent, 'DELETE FROM orders WHERE id > 99;');
refused($err, 'another statement in the approved session');
like($err, qr/another statement/, 'the DETAIL says the approval is for another statement');
is(count_orders(), '500', 'the other statement deleted nothing');

# --- the approved session retries the same statement: allowed once --------

($out, $err) = run_in($agent, $delete);
is($err, '', 'the retry of the approved statement succeeds');
is(count_orders(), '100', 'the approved delete removed 400 rows');

# Put the rows back (as a human) and try the same statement again.
$node->safe_psql('postgres',
    "INSERT INTO orders SELECT g, 'n' || g FROM generate_series(101, 500) g");
($out, $err) = run_in($agent, $delete);
refused($err, 'the same statement a second time');
is(count_orders(), '500', 'the approval was good for one statement only');

my $events = as_alice(
    "SELECT string_agg(event, ',' ORDER BY at) FROM deletion_firewall.events WHERE request_id = '$req'");
like($events, qr/approved.*confirmed/, 'events record the approval and its use');

# --- approving the same request twice does not allow two retries ----------
#
# Whatever the second approve() does (an error, or the same approval
# again), the refused statement may run once: approve() of a request that
# already has a live approval returns that approval.

($out, $err) = run_in($agent, 'DELETE FROM orders WHERE id > 200;');
my $req2 = refused($err, 'second mass delete');
as_alice("SELECT deletion_firewall.approve('$req2')");
my ($ret, $stdout, $stderr) = $node->psql('postgres',
    "SELECT deletion_firewall.approve('$req2')",
    extra_params => [ '-U', 'alice' ]);
note "second approve() of $req2: ret=$ret stdout=$stdout stderr=$stderr";
($out, $err) = run_in($agent, 'DELETE FROM orders WHERE id > 200;');
is($err, '', 'the approved retry succeeds');
is(count_orders(), '200', 'it deleted 300 rows');
$node->safe_psql('postgres',
    "INSERT INTO orders SELECT g, 'n' || g FROM generate_series(201, 500) g");
($out, $err) = run_in($agent, 'DELETE FROM orders WHERE id > 200;');
like($err, qr/ERROR:\s+42501:/,
    'a request approved twice still allows one retry only');
is(count_orders(), '500', '... and the second retry deleted nothing');
# Back to a known state, whatever happened, and no approval left over.
$node->safe_psql('postgres',
    "INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 500) g ON CONFLICT DO NOTHING");
as_alice(
    "SELECT deletion_firewall.revoke(token_id) FROM deletion_firewall.tokens WHERE token_id LIKE 'apr%'");

# --- an expired approval ---------------------------------------------------

($out, $err) = run_in($agent, 'DROP TABLE old_stuff;');
my $req3 = refused($err, 'drop');
as_alice("SELECT deletion_firewall.approve('$req3', valid_for => '1 second')");
sleep 2;
($out, $err) = run_in($agent, 'DROP TABLE old_stuff;');
refused($err, 'retry after the approval expired');
like($err, qr/expired/, 'the DETAIL says it expired');
is($node->safe_psql('postgres', "SELECT to_regclass('public.old_stuff') IS NOT NULL"),
    't', 'the table still exists');

# ... and a fresh approval of the new refusal works for a DROP.
my ($req4) = $err =~ /Request id: (req_[0-9a-f]+)/;
as_alice("SELECT deletion_firewall.approve('$req4')");
($out, $err) = run_in($agent, 'DROP TABLE old_stuff;');
is($err, '', 'the approved DROP succeeds');
is($node->safe_psql('postgres', "SELECT to_regclass('public.old_stuff') IS NULL"),
    't', 'the table is gone');

# --- an agent cannot approve, not even its own request ---------------------

($out, $err) = run_in($agent, 'DROP TABLE keep;');
my $req5 = refused($err, 'drop keep');
($out, $err) = run_in($agent, "SELECT deletion_firewall.approve('$req5');");
like($err, qr/ERROR:\s+42501:/, 'an agent calling approve() is refused with 42501');
($out, $err) = run_in($agent, 'DROP TABLE keep;');
refused($err, 'retry after the agent tried to approve itself');

# Through a function owned by a superuser (SECURITY DEFINER): still refused.
$node->safe_psql(
    'postgres', q{
CREATE FUNCTION public.approve_for_me(r text) RETURNS text
LANGUAGE sql SECURITY DEFINER AS $$ SELECT deletion_firewall.approve(r) $$;
GRANT EXECUTE ON FUNCTION public.approve_for_me(text) TO agent;
});
($out, $err) = run_in($agent, "SELECT public.approve_for_me('$req5');");
like($err, qr/ERROR:\s+42501:/,
    'an agent approving through a SECURITY DEFINER function is refused');
($out, $err) = run_in($agent, 'DROP TABLE keep;');
refused($err, 'retry after the SECURITY DEFINER attempt');

# --- a human who is not an approver ---------------------------------------

($ret, $stdout, $stderr) = $node->psql('postgres',
    "SELECT deletion_firewall.approve('$req5')",
    extra_params => [ '-U', 'bob' ]);
isnt($ret, 0, 'a non-approver cannot approve');
like($stderr, qr/permission denied/, '... with a permission error');

# --- unknown request -------------------------------------------------------

($ret, $stdout, $stderr) = $node->psql('postgres',
    "SELECT deletion_firewall.approve('req_0000000000')",
    extra_params => [ '-U', 'alice' ]);
isnt($ret, 0, 'approving an unknown request fails');
like($stderr, qr/does not exist/, '... saying it does not exist');

is($node->safe_psql('postgres', "SELECT to_regclass('public.keep') IS NOT NULL"),
    't', 'the table the agent tried to approve for itself still exists');

$agent->quit;
$node->stop;
done_testing();
