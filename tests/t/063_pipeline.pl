# A confirmation belongs to one statement, over every protocol (issue 14,
# section 1).
#
# A driver that pipelines over the extended protocol can bind one portal,
# bind and execute another, then execute the first.  The executor of a
# SELECT portal starts at Bind, so "the statement now running" is a portal,
# not the order of messages.  libpq has no call for a Bind without an
# Execute, so this test speaks the protocol itself: tests/DfwProto.pm, a small
# client over the node's Unix socket (trust authentication) that sends
# Parse, Bind, Execute, Sync and Query messages by hand and reads the replies.
#
#   (a) an approval for one DELETE does not cover a portal bound before it
#       and executed after it (a human's function that empties the table);
#   (b) the same with a one-use token;
#   (c) a portal fetched in slices counts its rows over all its fetches,
#       whatever other portals run in between;
#   (d) each statement of one simple Query message spends a use of its own,
#       and counts its rows alone.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;
use DfwProto;

my $node = DfwTest::node('pipeline');

$node->safe_psql(
	'postgres', q{
CREATE SCHEMA app;
CREATE TABLE app.orders (id int PRIMARY KEY, note text);
INSERT INTO app.orders SELECT g, 'n' || g FROM generate_series(1, 5000) g;
GRANT USAGE ON SCHEMA app TO agent;
GRANT SELECT, DELETE ON app.orders TO agent;
-- a human's functions, SECURITY INVOKER: they run with the agent's rights
CREATE FUNCTION app.f_wipe() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    DELETE FROM app.orders;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
CREATE FUNCTION app.f_del(i int) RETURNS int LANGUAGE sql
    AS $$ DELETE FROM app.orders WHERE id = i RETURNING id $$;
-- two loops over cursors the function opens: portals of their own, run
-- inside the caller's statement
CREATE FUNCTION app.f_two_loops(a int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r record; n int := 0;
BEGIN
    FOR r IN SELECT app.f_del(id) FROM generate_series(a, a + 59) id LOOP
        n := n + 1;
    END LOOP;
    FOR r IN SELECT app.f_del(id) FROM generate_series(a + 60, a + 119) id LOOP
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;
ALTER FUNCTION app.f_two_loops(int) OWNER TO bob;
ALTER FUNCTION app.f_wipe() OWNER TO bob;
ALTER FUNCTION app.f_del(int) OWNER TO bob;
});

sub count_orders
{
	return $node->safe_psql('postgres', 'SELECT count(*) FROM app.orders');
}

sub as_alice
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', 'alice' ]);
}

my $w = DfwProto->connect($node, 'agent');
my @r;

# ---------------- (a) an approval covers its statement only ----------------

my $approved = 'DELETE FROM app.orders WHERE id <= 150';
$w->parse('', $approved);
$w->bind('', '');
$w->execute('', 0);
$w->sync;
@r = $w->flush;
like(error_of(@r), qr/^42501: deletion_firewall refused delete/,
	'(a) the mass delete is refused first');
my ($req) = error_of(@r) =~ /Request id: (req_[0-9a-f]+)/;
ok(defined $req, "(a) the refusal names a request ($req)");
is(count_orders(), '5000', '(a) nothing deleted yet');
as_alice("SELECT deletion_firewall.approve('$req')");

# One pipeline, as a driver sends it: bind portal A (a human's function
# that empties the table), bind and execute the approved DELETE in portal
# B, execute A, Sync.  A must not run under B's approval.
$w->query('BEGIN');
$w->flush;
$w->parse('wipe', 'SELECT app.f_wipe()');
$w->bind('pa', 'wipe');
$w->parse('', $approved);
$w->bind('', '');
$w->execute('', 0);
$w->execute('pa', 0);
$w->sync;
@r = $w->flush;
is(tags_of(@r), 'DELETE 150', '(a) the approved DELETE in portal B runs');
like(error_of(@r), qr/^42501: deletion_firewall refused delete of (more than 100 rows from|every row of) app\.orders/,
	'(a) portal A, bound before B and executed after it, is refused: the approval was B\'s');
$w->query('COMMIT');
$w->flush;
is(count_orders(), '5000', '(a) COMMIT: the table was not emptied');

# The same with a statement between B and A, and A's failure rolled back
# to a savepoint: B's approved rows go, A's do not.
$w->parse('', $approved);
$w->bind('', '');
$w->execute('', 0);
$w->sync;
($req) = error_of($w->flush) =~ /Request id: (req_[0-9a-f]+)/;
as_alice("SELECT deletion_firewall.approve('$req')");
$w->query('BEGIN');
$w->flush;
$w->parse('wipe1', 'SELECT app.f_wipe()');
$w->bind('pa1', 'wipe1');
$w->parse('', $approved);
$w->bind('', '');
$w->execute('', 0);
$w->sync;
@r = $w->flush;
is(error_of(@r) . tags_of(@r), 'DELETE 150', '(a) again: portal A bound, the approved DELETE in B runs');
$w->query('SAVEPOINT s');
$w->flush;
$w->execute('pa1', 0);
$w->sync;
@r = $w->flush;
like(error_of(@r), qr/^42501: deletion_firewall refused delete of (more than 100 rows from|every row of) app\.orders/,
	'(a) again: portal A is refused');
$w->query('ROLLBACK TO s');
$w->flush;
$w->query('COMMIT');
$w->flush;
is(count_orders(), '4850', '(a) the approved DELETE committed, the wipe did not');
$node->safe_psql('postgres',
	"INSERT INTO app.orders SELECT g, 'n' || g FROM generate_series(1, 150) g");

# ---------------- (b) the same with a one-use token ----------------

my $tok = as_alice(
	"SELECT deletion_firewall.confirm(action => 'delete', target => 'app.orders', uses => 1)");
like($tok, qr/^dfw_/, '(b) alice issues a one-use token');
$w->query("SET deletion_firewall.token = '$tok'");
is(error_of($w->flush), '', '(b) the agent sets the token');
$w->query('BEGIN');
$w->flush;
$w->parse('wipe2', 'SELECT app.f_wipe()');
$w->bind('pa2', 'wipe2');
$w->parse('', 'DELETE FROM app.orders WHERE id <= 300');
$w->bind('', '');
$w->execute('', 0);
$w->execute('pa2', 0);
$w->sync;
@r = $w->flush;
is(tags_of(@r), 'DELETE 300', '(b) the DELETE in portal B spends the token');
like(error_of(@r), qr/^42501: deletion_firewall refused delete.*\nDETAIL: .*no uses left/s,
	'(b) portal A, bound before B, is refused: the token\'s one use was B\'s');
$w->query('COMMIT');
$w->flush;
is(count_orders(), '5000', '(b) COMMIT: the table was not emptied');
$w->query('RESET deletion_firewall.token');
$w->flush;

# ---------------- (c) a portal fetched in slices ----------------

# SELECT f_del(id): each row deletes one row through the function.  Slices
# of 60 rows, a DELETE of one row in another portal between them: the
# second slice passes 100 rows, and is refused at row 101.
$w->query('BEGIN');
$w->flush;
$w->parse('slice', 'SELECT app.f_del(id) FROM generate_series(301, 5000) id');
$w->bind('pc', 'slice');
$w->execute('pc', 60);
$w->parse('', 'DELETE FROM app.orders WHERE id = 5000');
$w->bind('', '');
$w->execute('', 0);
$w->sync;
@r = $w->flush;
is(error_of(@r), '', '(c) the first slice of 60 and the other portal run');
is(scalar(grep { $_->{type} eq 's' } @r), 1, '(c) portal C is suspended after its first slice');
is(scalar(grep { $_->{type} eq 'D' } @r), 60, '(c) the first slice returned 60 rows');
$w->execute('pc', 60);
$w->sync;
@r = $w->flush;
like(error_of(@r), qr/^42501: deletion_firewall refused delete of (more than 100 rows from|every row of) app\.orders/,
	'(c) the second slice is refused: the portal counts over its fetches');
like(error_of(@r), qr/more than 100 rows/, '(c) refused at row 101');
$w->query('ROLLBACK');
$w->flush;
is(count_orders(), '5000', '(c) rows intact');

# The same over slices of one DELETE ... RETURNING: PostgreSQL runs it whole
# at the first Execute, and the first slice is refused.
$w->query('BEGIN');
$w->flush;
$w->parse('ret', 'DELETE FROM app.orders WHERE id > 4000 RETURNING id');
$w->bind('pr', 'ret');
$w->execute('pr', 60);
$w->sync;
@r = $w->flush;
like(error_of(@r), qr/^42501: deletion_firewall refused delete of more than 100 rows/,
	'(c) DELETE ... RETURNING fetched in slices: refused');
$w->query('ROLLBACK');
$w->flush;
is(count_orders(), '5000', '(c) rows intact after DELETE ... RETURNING');

# ---------------- (d) several statements in one Query message ----------------

$tok = as_alice(
	"SELECT deletion_firewall.confirm(action => 'delete', target => 'app.orders', uses => 1)");
$w->query("SET deletion_firewall.token = '$tok'");
$w->flush;
$w->query('DELETE FROM app.orders WHERE id <= 150; DELETE FROM app.orders WHERE id > 4800');
@r = $w->flush;
is(tags_of(@r), 'DELETE 150', '(d) the first statement of the message spends the one use');
like(error_of(@r), qr/^42501: deletion_firewall refused delete.*\nDETAIL: .*no uses left/s,
	'(d) the second statement of the same message is refused: it needs a use of its own');
is(count_orders(), '5000', '(d) the message ran as one transaction: nothing deleted');

# Two uses, at most 200 rows a statement: two statements of 150 rows each
# in one message, each counted alone, are both allowed.
$tok = as_alice(
	"SELECT deletion_firewall.confirm(action => 'delete', target => 'app.orders', uses => 2, max_rows => 200)");
$w->query("SET deletion_firewall.token = '$tok'");
$w->flush;
$w->query('DELETE FROM app.orders WHERE id <= 150; DELETE FROM app.orders WHERE id > 4850');
@r = $w->flush;
is(error_of(@r), '', '(d) two statements of 150 rows under a 200-row token: both allowed');
is(tags_of(@r), 'DELETE 150,DELETE 150', '(d) each deleted 150 rows');
is(count_orders(), '4700', '(d) 300 rows went, in two statements of one message');

# ---------------- (e) cursors a function opens ----------------

# A function's cursors are portals too, but they run inside the statement
# that called the function: their rows add up with it.
$w->parse('', 'SELECT app.f_two_loops(1000)');
$w->bind('', '');
$w->execute('', 0);
$w->sync;
@r = $w->flush;
like(error_of(@r), qr/^42501: deletion_firewall refused delete of more than 100 rows/,
	'(e) two loops of 60 rows over cursors inside one statement: refused');
is(count_orders(), '4700', '(e) rows intact');

# ---------------- (f) a cursor fetched in slices ----------------

# FETCH runs the cursor's query: its rows add up over all its fetches, as
# for a portal executed in slices, whatever ran in between.
$w->query('BEGIN');
$w->flush;
$w->query('DECLARE c CURSOR FOR SELECT app.f_del(id) FROM generate_series(2000, 4000) id');
$w->flush;
$w->query('FETCH 60 FROM c');
@r = $w->flush;
is(error_of(@r) . tags_of(@r), 'FETCH 60', '(f) the first FETCH of 60 rows runs');
$w->query('DELETE FROM app.orders WHERE id = 4001');
@r = $w->flush;
is(error_of(@r) . tags_of(@r), 'DELETE 1', '(f) another statement in between');
$w->query('FETCH 60 FROM c');
@r = $w->flush;
like(error_of(@r), qr/^42501: deletion_firewall refused delete of more than 100 rows/,
	'(f) the second FETCH is refused: the cursor counts over its fetches');
$w->query('ROLLBACK');
$w->flush;
is(count_orders(), '4700', '(f) rows intact');

# ---------------- the session is still sound ----------------

$w->query('RESET deletion_firewall.token');
$w->flush;
$w->query('DELETE FROM app.orders WHERE id <= 400');
@r = $w->flush;
like(error_of(@r), qr/^42501: deletion_firewall refused/,
	'a later mass delete without confirmation is refused');
$w->query('DELETE FROM app.orders WHERE id <= 200');
@r = $w->flush;
is(tags_of(@r), 'DELETE 50', 'a small delete is allowed');
is(count_orders(), '4650', 'rows as expected');

done_testing();
