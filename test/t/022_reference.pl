# docs/reference.md against the installed extension, so that the reference
# is complete by construction: every function (public ones in the sections
# with their arguments and columns, helpers in "Internal functions" with
# who may call them), every view and table with its columns, every setting
# with its default, context and visibility, every SQLSTATE medup raises,
# every kind of event, and the functions medup_reader may call; every
# public function and view has a COMMENT.  Add an object and forget its
# documentation, and this test fails naming the object and what it lacks.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MedupTest;

my $reference = slurp_file('docs/reference.md');

# The reference's level-2 sections (a ### subsection belongs to its ##).
my %section;
{
	my $title = '';
	for my $line (split /\n/, $reference)
	{
		$title = $1 if $line =~ /^## (.+)$/;
		$section{$title} .= "$line\n";
	}
}
sub spans { my @s = $_[0] =~ /`([^`\n]+)`/g; return @s; }

# NAME is written as code in TEXT: a `...` span that is NAME, or holds it
# as a whole word (`medup.status()`, `status(target)`, `rate`, `eta`).
sub in_code
{
	my ($text, $name) = @_;
	return scalar grep { $_ eq $name || /(?<![\w.])\Q$name\E(?!\w)/ } spans($text);
}
# The sections that document the function F (`f(` or `medup.f(`) or the
# relation R (`medup.r` not followed by "(").
sub sections_of_function
{
	my ($f) = @_;
	return grep { my $t = $section{$_}; grep { /(?<![\w.])(?:medup\.)?\Q$f\E\(/ } spans($t) } keys %section;
}
sub sections_of_relation
{
	my ($r) = @_;
	return grep { my $t = $section{$_}; grep { /(?<![\w.])medup\.\Q$r\E(?![\w(])/ } spans($t) } keys %section;
}
# WHAT is in code in one of the sections.
sub in_sections { my ($what, @titles) = @_; return scalar grep { in_code($section{$_}, $what) } @titles; }

my $node = medup_node('reference', '');
$node->safe_psql('postgres', 'CREATE EXTENSION medup');
sub rows { return grep { length } split /\n/, $node->safe_psql('postgres', shift); }

# Internal functions: "| `name()` | callable by | what it does |".
my $internal_text = $section{'Internal functions'} // '';
ok(length $internal_text, 'docs/reference.md has an "Internal functions" section');
my %internal;
my %internal_line;
while ($internal_text =~ /^\| `(\w+)\(\)` \| ([^|]+?) \| (.+?) \|$/mg)
{
	$internal{$1} = $2;
	$internal_line{$1} = $3;
}

# Every function: who may call it, its arguments and columns, its COMMENT.
my %callers;    # name -> 'PUBLIC' / 'medup_reader' / 'owner'
for my $row (rows(q{
	SELECT p.proname,
	       CASE WHEN has_function_privilege('public', p.oid, 'EXECUTE') THEN 'PUBLIC'
	            WHEN has_function_privilege('medup_reader', p.oid, 'EXECUTE') THEN 'medup_reader'
	            ELSE 'owner' END,
	       obj_description(p.oid, 'pg_proc') IS NOT NULL,
	       replace(coalesce(obj_description(p.oid, 'pg_proc'), ''), E'\n', ' '),
	       p.oid::regprocedure,
	       array_to_string(ARRAY(
	           SELECT n FROM unnest(coalesce(p.proargnames, '{}'), coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[coalesce(cardinality(p.proargnames), 0)])))
	                  AS a(n, m) WHERE n <> ''), ',')
	  FROM pg_proc p
	 WHERE p.pronamespace = 'medup'::regnamespace
	 ORDER BY 1, 4}))
{
	my ($name, $callable, $commented, $comment, $signature, $columns) = split /\|/, $row, -1;
	$callers{$name} = $callable;
	if (exists $internal{$name})
	{
		is($internal{$name}, $callable,
			"Internal functions: the row of $name says who may call it ($callable)");
		ok($commented eq 't', "function $signature, callable by $callable, has a COMMENT")
		  if $callable ne 'owner';
		is($internal_line{$name}, $comment,
			"Internal functions: the row of $name says what its COMMENT says") if $commented eq 't';
		next;
	}
	my @where = sections_of_function($name);
	ok(@where, "function $name is in docs/reference.md (`$name(` in a section, or a row of Internal functions)")
	  or next;
	ok($commented eq 't', "function $signature has a COMMENT");
	for my $column (split /,/, $columns)
	{
		ok(in_sections($column, @where),
			"function $name: argument or column $column is in a section that documents $name() ("
			  . join('; ', sort @where) . ')');
	}
}
for my $name (sort keys %internal)
{
	ok(exists $callers{$name}, "Internal functions: $name() exists in the extension");
}

# The functions medup_reader may call, as the access section lists them
# (<!-- reader functions --> ... <!-- end -->): exactly those granted to it.
my ($listed) = $reference =~ /<!-- reader functions -->(.*?)<!-- end -->/s;
ok(defined $listed, 'the reference lists the functions medup_reader may call');
my %listed;
$listed{$1} = 1 while ($listed // '') =~ /`(?:medup\.)?(\w+)\(/g;
is(join(' ', sort keys %listed),
	join(' ', sort grep { $callers{$_} eq 'medup_reader' && !exists $internal{$_} } keys %callers),
	'the reference names every public function granted to medup_reader, and no other');

# Views and tables, and their columns; COMMENT on every view.
for my $row (rows(q{
	SELECT c.relname, c.relkind, obj_description(c.oid, 'pg_class') IS NOT NULL,
	       string_agg(a.attname, ',' ORDER BY a.attnum)
	  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	 WHERE c.relnamespace = 'medup'::regnamespace AND c.relkind IN ('r', 'v')
	 GROUP BY 1, 2, 3 ORDER BY 1}))
{
	my ($rel, $kind, $commented, $columns) = split /\|/, $row;
	my $what = $kind eq 'v' ? 'view' : 'table';
	ok($commented eq 't', "view medup.$rel has a COMMENT") if $kind eq 'v';
	my @where = sections_of_relation($rel);
	ok(@where, "$what medup.$rel is in docs/reference.md") or next;
	for my $column (split /,/, $columns)
	{
		ok(in_sections($column, @where),
			"$what medup.$rel: column $column is in a section that documents it ("
			  . join('; ', sort @where) . ')');
	}
}

# Settings: "| `medup.x` | default | context | who may set it | who may read
# it | what it does |": the default as SHOW prints it (or words, for a long
# text), the context as pg_settings says, who may set it as the context
# allows, and who may read the value as a role without privileges sees.
my %who_sets = (
	superuser => 'superusers, at any level',
	sighup => 'postgresql.conf or ALTER SYSTEM, then a reload');
$node->safe_psql('postgres', 'CREATE ROLE reference_probe LOGIN');
my %visible = map { $_ => 1 } split /\n/, $node->safe_psql('postgres',
	q{SELECT name FROM pg_settings WHERE name LIKE 'medup.%'}, extra_params => [ '-U', 'reference_probe' ]);
for my $row (rows(q{SELECT name || '|' || context || '|' || vartype FROM pg_settings WHERE name LIKE 'medup.%' ORDER BY 1}))
{
	my ($name, $context, $type) = split /\|/, $row;
	my ($default, $doc_context, $doc_sets, $doc_visible) =
	  $section{Settings} =~ /^\| `\Q$name\E` \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|/m;
	ok(defined $default, "the setting $name has its row in the Settings table") or next;
	my $shown = $node->safe_psql('postgres', "SHOW $name");
	if ($default =~ /^`([^`]*)`$/)
	{
		is($1 eq "''" ? '' : $1, $shown, "the setting $name: its default in the reference");
	}
	else
	{
		ok($type eq 'string' && length $shown > 40,
			"the setting $name: its default is written in words only for a long text");
	}
	is($doc_context, "`$context`", "the setting $name: its context in the reference");
	is($doc_sets, $who_sets{$context} // "(a context medup does not use: $context)",
		"the setting $name: who may set it, in the reference");
	is($doc_visible, $visible{$name} ? 'every role' : 'superusers, pg_read_all_settings',
		"the setting $name: who may read its value, in the reference");
}
my @doc_settings = $section{Settings} =~ /^\| `(medup\.\w+)` \|/mg;
for my $name (@doc_settings)
{
	ok(scalar(rows("SELECT 1 FROM pg_settings WHERE name = '$name'")), "the setting $name of the reference exists");
}

# Every SQLSTATE medup raises, in C (ERRCODE_...) and in SQL (ERRCODE =
# 'name' or '12345' in the install parts and the update scripts, and the
# codes check() and gate() return), is in the
# table of section "SQLSTATEs"; a code there that medup does not raise
# itself says that it passes it on.
my %code_of;
for my $line (split /\n/, slurp_file(
		$node->config_data('--includedir-server') . '/utils/errcodes.h'))
{
	next unless $line =~ /^#define (ERRCODE_\w+)\s+MAKE_SQLSTATE\((.*)\)/;
	my ($macro, $chars) = ($1, $2);
	$code_of{$macro} = join '', $chars =~ /'(.)'/g;
}
my %raised;
for my $file (glob('src/*.c'), glob('sql/install/*.sql'), glob('sql/updates/*.sql'), glob('sql/updates/*/*.sql'))
{
	my $text = slurp_file($file);
	# errcode(ERRCODE_X), and fail(..., ERRCODE_X, ...) in src/http.c; a
	# comparison (sqlerrcode == ERRCODE_X) is not a raise.
	$raised{ $code_of{$1} } = $file while $text =~ /(?<!== )\b(ERRCODE_\w+)\b/g;
	while ($text =~ /ERRCODE\s*=\s*'(\w+)'/g)
	{
		my $name = $1;
		my $code = $name =~ /^[0-9A-Z]{5}$/ ? $name : $code_of{ 'ERRCODE_' . uc $name };
		ok(defined $code, "$file: ERRCODE '$name' is a known condition") or next;
		$raised{$code} = $file;
	}
	next unless $file =~ m{^sql/install/};
	$raised{$1} = $file while $text =~ /'([0-9][0-9A-Z]{4})'/g;
}
delete @raised{ grep { !defined || /^(00000|XX000|XX001)$/ } keys %raised };
my %sqlstate_row;
$sqlstate_row{$1} = $2 while ($section{SQLSTATEs} // '') =~ /^\| `([0-9A-Z]{5})` \|(.*)$/mg;
for my $code (sort keys %raised)
{
	ok(exists $sqlstate_row{$code}, "SQLSTATE $code (raised in $raised{$code}) has its row in the SQLSTATEs table");
}
for my $code (sort keys %sqlstate_row)
{
	ok(exists $raised{$code} || $sqlstate_row{$code} =~ /passed on/,
		"SQLSTATE $code of the reference is raised by medup, or its row says it is passed on");
}

# Every kind of event: a row of the Events table, and no other.
my ($check) = rows(q{SELECT pg_get_constraintdef(oid) FROM pg_constraint
                      WHERE conrelid = 'medup.event'::regclass AND contype = 'c'
                        AND pg_get_constraintdef(oid) LIKE '%kind%'});
my @kinds = sort $check =~ /'(\w+)'/g;
ok(@kinds > 10, 'the event kinds are read from medup.event');
my @doc_kinds = sort(($section{'Events'} // '') =~ /^\| `(\w+)` \|/mg);
is("@doc_kinds", "@kinds", 'the Events table has one row per kind of event medup.event accepts');

$node->stop;
done_testing();
