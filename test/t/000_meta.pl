# The release is described the same way everywhere: META.json (PGXN)
# against medup.control, the Makefile, LICENSE and CHANGELOG.md; every file
# of sql/install/ is in the install script and named in its header; every
# release in CHANGELOG.md keeps its install script and an update to the next.
# No server needed.  make installcheck runs it from the top of the tree.
use strict;
use warnings;
use JSON::PP;
use Test::More;

sub slurp { my ($path) = @_; open(my $fh, '<', $path) or die "$path: $!"; local $/; return <$fh>; }

my %control = slurp('medup.control') =~ /^(\w+)\s*=\s*'([^']*)'/mg;
my $meta = decode_json(slurp('META.json'));
# What the Makefile builds, as make itself works it out from the version.
my $data_built = `make -s --no-print-directory print-built`;
die "make print-built failed" if $?;
my %built = map { $_ => 1 } split ' ', $data_built;
my $current = $control{default_version};
(my $semver = $current) =~ s/^(\d+\.\d+)$/$1.0/;

is($meta->{name}, 'medup', 'META.json names the extension');
is($meta->{version}, $semver, "META.json's version is the control file's default_version $current");
is($meta->{provides}{medup}{version}, $semver, 'and so is the version it provides');
is($meta->{abstract}, $control{comment}, "META.json's abstract is the control file's comment");
is($meta->{provides}{medup}{abstract}, $control{comment}, 'and so is the abstract of what it provides');
is($meta->{provides}{medup}{file}, "build/medup--$current.sql", "it points at ${current}'s install script");
ok($built{"build/medup--$current.sql"}, 'which the Makefile builds');
ok(-e $meta->{provides}{medup}{docfile}, 'its docfile exists');
is($meta->{license}, 'postgresql', 'META.json says the PostgreSQL License');
like(slurp('LICENSE'), qr/\APostgreSQL License\n\nCopyright \(c\) \d{4}, The medup developers\n/,
	'and LICENSE is it');
is($meta->{'meta-spec'}{version}, '1.0.0', 'META.json follows PGXN meta spec 1.0.0');

# Every install part is in the install script (the Makefile takes the
# parts named NN-concern.sql), and the header names it.
my $install_parts = `make -s --no-print-directory print-install-parts`;
die "make print-install-parts failed" if $?;
my %in_makefile = map { $_ => 1 } split ' ', $install_parts;
my $header = slurp('sql/install/00-header.sql');
for my $part (glob('sql/install/*.sql'))
{
	ok($in_makefile{$part}, "$part is in the Makefile's INSTALL_PARTS");
	(my $name = $part) =~ s{^sql/install/|\.sql$}{}g;
	like($header, qr/^ \*   \Q$name\E /m, "and the install script's header names $name")
	  unless $name eq '00-header';
}

# Releases, oldest first, from CHANGELOG.md's "## X.Y" headings.
my @releases = reverse(slurp('CHANGELOG.md') =~ /^## (\d+\.\d+(?:\.\d+)?)\b/mg);
is($releases[-1], $current, "CHANGELOG.md's newest release is $current");
for my $i (0 .. $#releases - 1)
{
	my ($from, $to) = @releases[ $i, $i + 1 ];
	ok(-e "sql/archive/medup--$from.sql", "${from}'s install script is kept");
	ok(-e "sql/archive/medup--$from--$to.sql" || $built{"build/medup--$from--$to.sql"},
		"an update script leads from $from to $to");
}

# typedefs.list (for pgindent) names every type medup's C defines.
my %listed = map { $_ => 1 } split /\n/, slurp('typedefs.list');
for my $file (glob('src/*.c src/*.h'))
{
	for my $type (slurp($file) =~ /^\} (\w+);/mg)
	{
		ok($listed{$type}, "typedefs.list names $type ($file)");
	}
}

# Every C symbol medup.so exports carries the prefix medup_ (a backend
# loads many libraries into one namespace), but PostgreSQL's entry points
# and the old names src/compat.c keeps for 0.1's and 0.2's scripts.
my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
my @exported = `nm -D --defined-only $pkglibdir/medup.so 2>/dev/null`;
SKIP:
{
	skip 'nm or the installed medup.so is missing', 2 unless @exported;
	my %compat = map { $_ => 1 } slurp('src/compat.c') =~ /^MEDUP_OLD_SYMBOL\((\w+)\)/mg;
	my @unprefixed = grep { !/^medup_/ && !/^(Pg_magic_func|_PG_init|_init|_fini)$/ && !$compat{$_} }
	  map { /^\S+ [TDBR] (?:pg_finfo_)?(\S+)$/ ? $1 : () } @exported;
	is("@unprefixed", '', 'medup.so exports no symbol without the prefix medup_ but the kept old names');
	my %defined = map { /^\S+ T (\S+)$/ ? ($1 => 1) : () } @exported;
	is(join(' ', grep { !$defined{"medup_$_"} } sort keys %compat), '',
		'every kept old name calls a medup_ function of the same name');
}

done_testing();
