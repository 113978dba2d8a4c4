# medup: PGXS build.
#
# The PGXS part is only read when the PostgreSQL server headers are
# installed: on a fresh machine `make demo` and `make check-all` must work
# before pg_config can answer, because they are what installs it.

EXTENSION = medup
MODULE_big = medup
OBJS = src/medup.o src/version.o src/compat.o src/worker.o src/plan_cache.o src/job.o src/http.o src/periodic.o src/grants.o src/target.o src/memo.o src/progress.o
# libcurl, for the servers' healthchecks and the catalog refresh (src/http.c).
# "override": added even when SHLIB_LINK is given on the command line, as
# test/memcheck.sh does for AddressSanitizer.
override SHLIB_LINK += -lcurl
# One version source: the control file's default_version.  The release
# before it is the newest one frozen in sql/archive/ (`make freeze`).
EXTVERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" medup.control)
PREVIOUS := $(lastword $(shell ls sql/archive/medup--*.sql | sed -n 's|^sql/archive/medup--\([0-9.]*\)\.sql$$|\1|p' | sort -V))
# The current release's install script and the update script that leads to
# it are built (below) into build/, so that sql/ holds only what people
# write; earlier releases' scripts are kept as they shipped.
DATA_built = build/medup--$(EXTVERSION).sql build/medup--$(PREVIOUS)--$(EXTVERSION).sql
DATA = $(wildcard sql/archive/medup--*.sql)
EXTRA_CLEAN = build
# -Wno-unused-parameter: PostgreSQL's own headers have unused parameters.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter

# `make installcheck` (after `make install`): the pg_regress tests in
# sql/*.sql against expected/*.out, on a temporary instance that preloads
# medup, then the TAP tests in test/t/*.pl (what they share is in
# test/perl/).  test/check.sh runs both, one test at a time.
REGRESS = version version_fuzz version_binary catalog path fixtures status reserialize job_input gate access audit servers estimate targets notify update
REGRESS_OPTS = --load-extension=medup --temp-instance=./tmp_check --temp-config=test/regress.conf
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.PHONY: demo check-all freeze dist

demo:
	bash test/demo.sh

check-all:
	bash test/check.sh

ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
# After PGXS, which empties it.  test/perl holds what the TAP tests share
# (MedupTest.pm).
PROVE_FLAGS = --timer -I test/perl

# The install script is the SQL surface, one file per concern in sql/install/
# concatenated in name order (the tables, types and views of each part use
# only what the parts before it define; function bodies, resolved when they
# run, also call functions of later parts, as 40-inspect.sql calls the
# remote targets' snapshot_*() of 47-targets.sql), followed by the shipped
# catalog, generated from the data files in sql/install/catalog/.
INSTALL_PARTS = $(sort $(wildcard sql/install/[0-9][0-9]-*.sql))

CATALOG_DATA = sql/install/catalog/releases.tsv sql/install/catalog/data_migrations.tsv \
	sql/install/catalog/schema_versions.tsv sql/install/catalog/migration_work.tsv \
	sql/install/catalog/migration_indexes.tsv

build/catalog-data.sql: $(CATALOG_DATA) sql/install/catalog/to-sql.awk
	@mkdir -p build
	awk -f sql/install/catalog/to-sql.awk $(CATALOG_DATA) > $@

build/medup--$(EXTVERSION).sql: $(INSTALL_PARTS) build/catalog-data.sql
	cat $^ > $@

# The update script to the current release: the prologue drops medup's code
# (views, functions, types no table uses), the release's own steps change
# what holds state (the STATE blocks of the install parts: tables, the
# version type; one file per concern in sql/updates/$(EXTVERSION)/, run in
# name order), then the install parts' code is created again without its
# STATE blocks and the shipped catalog is replaced, so functions, views and
# grants follow the install parts by themselves.  When a release ships,
# `make freeze` keeps its install and update scripts in sql/archive/.
# The header and the guard against a squatted schema are for CREATE EXTENSION only.
CODE_PARTS = $(filter-out sql/install/00-header.sql sql/install/05-schema-guard.sql,$(INSTALL_PARTS))

UPDATE_STEPS = $(sort $(wildcard sql/updates/$(EXTVERSION)/*.sql))

build/medup--$(PREVIOUS)--$(EXTVERSION).sql: sql/updates/prologue.sql $(UPDATE_STEPS) \
		sql/updates/code.awk $(CODE_PARTS) build/catalog-data.sql sql/updates/epilogue.sql
	{ cat sql/updates/prologue.sql $(UPDATE_STEPS) && \
	  awk -f sql/updates/code.awk $(CODE_PARTS) && \
	  cat build/catalog-data.sql sql/updates/epilogue.sql; } > $@

# Keep the current release's scripts as they ship; run once, when it ships,
# before default_version moves on.
freeze: build/medup--$(EXTVERSION).sql build/medup--$(PREVIOUS)--$(EXTVERSION).sql
	@for f in $^; do \
	  if [ -e sql/archive/$$(basename $$f) ]; then echo "sql/archive/$$(basename $$f) exists: $(EXTVERSION) is frozen already" >&2; exit 1; fi; \
	done
	cp $^ sql/archive/

else
all install installcheck:
	@echo "PostgreSQL server headers are missing: run 'bash test/deps.sh' (or 'make demo') first" >&2
	@exit 1
endif

# A PGXN distribution: the committed tree (git archive, so nothing that is
# not in git) as medup-VERSION.zip, VERSION being META.json's.
DISTVERSION = $(shell sed -n 's/^   "version": *"\([^"]*\)",*$$/\1/p' META.json)
dist:
	git archive --format=zip --prefix=medup-$(DISTVERSION)/ -o medup-$(DISTVERSION).zip HEAD
	@echo "medup-$(DISTVERSION).zip"

print-regress:
	@echo $(REGRESS)

print-version:
	@echo $(EXTVERSION)

print-built:
	@echo $(DATA_built)

print-install-parts:
	@echo $(INSTALL_PARTS)
