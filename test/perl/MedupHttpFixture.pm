# The loopback HTTP server of the network tests (test/http_fixture.py,
# 127.0.0.1 only), for one test file: started by start_http_fixture(),
# answering what route() says, stopped when the test ends.
package MedupHttpFixture;
use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(sleep);

our @EXPORT = qw(start_http_fixture route route_of);

my ($web, $process, %routes);

# start_http_fixture([PREPARE]): PREPARE, if given, is called with the
# server's directory before it starts (to put a certificate there).
# Returns the directory and the ports: main, other, closed, tls.
sub start_http_fixture
{
	my ($prepare) = @_;
	my $fixture = $ENV{MEDUP_HTTP_FIXTURE} // "test/http_fixture.py";
	my $python = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';
	$web = PostgreSQL::Test::Utils::tempdir();
	$prepare->($web) if $prepare;
	$process = IPC::Run::start([ $python, $fixture, $web ], '>', "$web/out", '2>', "$web/err");
	for (1 .. 100) { last if -e "$web/ports"; sleep(0.1); }
	return ($web, split ' ', slurp_file("$web/ports"));
}

# route(PATH, status => ..., body => ..., ...): how PATH answers from now on.
sub route
{
	my ($path, %answer) = @_;
	$routes{$path} = {%answer};
	open my $fh, '>', "$web/routes.tmp" or die;
	print $fh encode_json(\%routes);
	close $fh;
	rename "$web/routes.tmp", "$web/routes.json" or die;
}

# route_of(PATH): what route() was told last for PATH, as a hash reference.
sub route_of
{
	my ($path) = @_;
	return $routes{$path};
}

END { local $?; $process->kill_kill if $process; }

1;
