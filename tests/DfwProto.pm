# DfwProto: a small PostgreSQL wire-protocol client for the TAP tests.
#
# libpq has no call for a Bind without an Execute, and psql 15 has no \bind,
# so the tests that need the extended protocol speak it themselves: Parse,
# Bind (with text parameter values), Execute, Sync and simple Query
# messages, queued and sent by flush(), which reads the replies up to
# ReadyForQuery.  Authentication: trust only (the TAP nodes use it).
#
#   my $w = DfwProto->connect($node, 'agent');              # Unix socket
#   my $w = DfwProto->connect_tcp('127.0.0.1', $port, 'agent');
#   $w->parse('', 'DELETE FROM t WHERE id > $1');
#   $w->bind('', '', '4800');                               # $1 = '4800'
#   $w->execute('', 0);
#   $w->sync;
#   my @r = $w->flush;      # replies: { type => 'E', C => '42501', M => ... },
#                           # { type => 'C', tag => 'DELETE 200' }, ...
#   error_of(@r)            # "SQLSTATE: message[\nDETAIL: ...]" or ''
#   tags_of(@r)             # "DELETE 200,..."
#   $w->query($sql); $w->send;   # leave it running; later: $w->until_ready
package DfwProto;

use strict;
use warnings;

use IO::Socket::INET;
use IO::Socket::UNIX;
use Socket ();
use Exporter 'import';

our @EXPORT = qw(error_of tags_of);

sub connect
{
	my ($class, $node, $user) = @_;
	my $path = $node->host . '/.s.PGSQL.' . $node->port;
	my $sock = IO::Socket::UNIX->new(Type => Socket::SOCK_STREAM(), Peer => $path)
	  or die "cannot connect to $path: $!";
	return $class->_start($sock, $user);
}

sub connect_tcp
{
	my ($class, $host, $port, $user) = @_;
	my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp')
	  or die "cannot connect to $host:$port: $!";
	return $class->_start($sock, $user);
}

sub _start
{
	my ($class, $sock, $user) = @_;
	my $self = bless { sock => $sock }, $class;
	my $params = "user\0$user\0database\0postgres\0\0";
	$self->raw(pack('NN', 8 + length($params), 196608) . $params);
	my @r = $self->until_ready;
	die "startup failed: " . error_of(@r) if grep { $_->{type} eq 'E' } @r;
	return $self;
}

sub close
{
	my ($self) = @_;
	$self->raw('X' . pack('N', 4));
	close($self->{sock});
}

sub raw
{
	my ($self, $bytes) = @_;
	my $off = 0;
	while ($off < length($bytes))
	{
		my $n = syswrite($self->{sock}, $bytes, length($bytes) - $off, $off);
		die "write: $!" unless defined $n;
		$off += $n;
	}
}

sub msg
{
	my ($self, $type, $body) = @_;
	$self->{out} .= $type . pack('N', 4 + length($body)) . $body;
}

# Parse: no parameter types given (the server infers them).
sub parse { my ($s, $name, $sql) = @_; $s->msg('P', "$name\0$sql\0" . pack('n', 0)); }

# Bind: parameter values in text format (undef = NULL), results in text.
sub bind
{
	my ($s, $portal, $stmt, @values) = @_;
	my $body = "$portal\0$stmt\0" . pack('nn', 0, scalar @values);
	for my $v (@values)
	{
		$body .= defined $v ? pack('N', length $v) . $v : pack('N', 0xFFFFFFFF);
	}
	$s->msg('B', $body . pack('n', 0));
}
sub execute { my ($s, $portal, $max) = @_; $s->msg('E', "$portal\0" . pack('N', $max // 0)); }
sub sync { my ($s) = @_; $s->msg('S', ''); }
sub query { my ($s, $sql) = @_; $s->msg('Q', "$sql\0"); }

# Send what was queued, read up to ReadyForQuery; returns the replies.
sub flush
{
	my ($self) = @_;
	$self->raw(delete $self->{out}) if defined $self->{out};
	return $self->until_ready;
}

# Send what was queued without reading: the caller reads the replies later
# with until_ready (a statement left running while the test does other
# things).
sub send
{
	my ($self) = @_;
	$self->raw(delete $self->{out}) if defined $self->{out};
}

# The backend's process id, from BackendKeyData at startup.
sub pid { return $_[0]{pid}; }

sub readn
{
	my ($self, $n) = @_;
	my $buf = '';
	while (length($buf) < $n)
	{
		my $got = sysread($self->{sock}, $buf, $n - length($buf), length($buf));
		die "read: " . ($got // $!) unless $got;
	}
	return $buf;
}

sub until_ready
{
	my ($self) = @_;
	my @replies;
	while (1)
	{
		my ($type, $len) = unpack('aN', $self->readn(5));
		my $body = $len > 4 ? $self->readn($len - 4) : '';
		my $r = { type => $type };
		if ($type eq 'E' || $type eq 'N')
		{
			for my $f (split /\0/, $body)
			{
				$r->{ substr($f, 0, 1) } = substr($f, 1) if length $f;
			}
		}
		elsif ($type eq 'K')
		{
			($self->{pid}) = unpack('N', $body);
		}
		elsif ($type eq 'C')
		{
			($r->{tag}) = $body =~ /^([^\0]*)/;
		}
		elsif ($type eq 'D')
		{
			my ($n, $l) = unpack('nN', $body);
			$r->{value} = $l == 0xFFFFFFFF ? undef : substr($body, 6, $l);
		}
		push @replies, $r unless $type eq 'N' || $type eq 'S' || $type eq 'K';
		return @replies if $type eq 'Z';
	}
}

# The first error among replies, as "SQLSTATE: message[\nDETAIL: detail]",
# or ''.
sub error_of
{
	my @e = grep { $_->{type} eq 'E' } @_;
	return @e ? "$e[0]{C}: $e[0]{M}" . (defined $e[0]{D} ? "\nDETAIL: $e[0]{D}" : '') : '';
}

sub tags_of
{
	return join(',', map { $_->{tag} } grep { $_->{type} eq 'C' } @_);
}

1;
