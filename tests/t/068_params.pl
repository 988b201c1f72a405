# An approval binds the refused statement's bound parameter values
# (extended protocol), not only its text.
#
# psql 15 has no \bind, so the agent speaks the protocol itself
# (tests/DfwProto.pm): Parse 'DELETE FROM public.orders WHERE id > $1',
# Bind with $1 = '4800' (200 rows: refused), Execute, Sync.  The request
# shows the value in deletion_firewall.blocked.params; once alice approved
# it, the same text with $1 = '0' (every row) is still refused, and only
# $1 = '4800' runs, once.  The same holds for an approval for any session,
# retried over a new connection.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DfwTest;
use DfwProto;

my $node = DfwTest::node('params');
$node->safe_psql(
	'postgres', q{
CREATE TABLE public.orders (id int PRIMARY KEY, note text);
INSERT INTO public.orders SELECT g, 'n' || g FROM generate_series(1, 5000) g;
GRANT SELECT, DELETE ON public.orders TO agent;
});

sub count_orders
{
	return $node->safe_psql('postgres', 'SELECT count(*) FROM public.orders');
}

sub as_alice
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', 'alice' ]);
}

my $sql = 'DELETE FROM public.orders WHERE id > $1';

# Parse, Bind with the given value for $1, Execute, Sync: the replies.
sub delete_with
{
	my ($w, $value) = @_;
	$w->parse('', $sql);
	$w->bind('', '', $value);
	$w->execute('', 0);
	$w->sync;
	return $w->flush;
}

my $w = DfwProto->connect($node, 'agent');
my @r;

# ---------------- the refusal shows the values ----------------

@r = delete_with($w, '4800');
like(error_of(@r), qr/^42501: deletion_firewall refused delete of more than 100 rows from public\.orders/,
	'the parameterised DELETE of 200 rows is refused');
my ($req) = error_of(@r) =~ /(req_[0-9a-f]+)/;
ok(defined $req, "the refusal names a request ($req)");
is(count_orders(), '5000', 'nothing deleted');

my ($stmt, $params) = split /\|/, as_alice(
	"SELECT statement, params FROM deletion_firewall.blocked WHERE request_id = '$req'");
is($stmt, $sql, 'blocked.statement is the text with its placeholder');
is($params, q{$1 = '4800'::integer}, 'blocked.params shows the bound value and its type');

as_alice("SELECT deletion_firewall.approve('$req')");

# ---------------- another value: refused ----------------

@r = delete_with($w, '0');
like(error_of(@r), qr/^42501: deletion_firewall refused delete/,
	'the same text with $1 = 0 is refused: the approval was for $1 = 4800');
is(count_orders(), '5000', 'all 5000 rows remain');

@r = delete_with($w, undef);
is(error_of(@r) . tags_of(@r), 'DELETE 0', '$1 = NULL deletes nothing and is not refused');

# ---------------- the approved value: allowed once ----------------

@r = delete_with($w, '4800');
is(error_of(@r) . tags_of(@r), 'DELETE 200', 'the retry with $1 = 4800 succeeds');
is(count_orders(), '4800', '4800 rows left');

$node->safe_psql('postgres',
	"INSERT INTO public.orders SELECT g, 'n' || g FROM generate_series(4801, 5000) g");
@r = delete_with($w, '4800');
like(error_of(@r), qr/^42501: deletion_firewall refused delete/,
	'a second retry with $1 = 4800 is refused: the approval is spent');
is(count_orders(), '5000', 'rows intact');

# ---------------- an approval for any session, a new connection ----------------

my ($req2) = error_of(@r) =~ /(req_[0-9a-f]+)/;
is(as_alice("SELECT params FROM deletion_firewall.blocked WHERE request_id = '$req2'"),
	q{$1 = '4800'::integer}, 'the new request shows the value too');
as_alice("SELECT deletion_firewall.approve('$req2', any_session => true)");
$w->close;

my $w2 = DfwProto->connect($node, 'agent');
@r = delete_with($w2, '0');
like(error_of(@r), qr/^42501: deletion_firewall refused delete/,
	'any session: another connection with $1 = 0 is refused');
@r = delete_with($w2, '4799');
like(error_of(@r), qr/^42501: deletion_firewall refused delete/,
	'any session: $1 = 4799 is refused');
is(count_orders(), '5000', 'all 5000 rows remain');
@r = delete_with($w2, '4800');
is(error_of(@r) . tags_of(@r), 'DELETE 200', 'any session: $1 = 4800 succeeds in another connection');
is(count_orders(), '4800', '4800 rows left');

# The simple protocol, the value written into the text: another statement.
$node->safe_psql('postgres',
	"INSERT INTO public.orders SELECT g, 'n' || g FROM generate_series(4801, 5000) g");
$w2->query('DELETE FROM public.orders WHERE id > 4800');
@r = $w2->flush;
like(error_of(@r), qr/^42501: deletion_firewall refused delete/,
	'the same DELETE with the value in its text is another statement: refused');
is(count_orders(), '5000', 'rows intact');
$w2->close;

done_testing();
