# medup: PGXS build.
#
# The PGXS part is only read when the PostgreSQL server headers are
# installed: on a fresh machine `make demo` and `make check-all` must work
# before pg_config can answer, because they are what installs it.

EXTENSION = medup
MODULE_big = medup
OBJS = src/medup.o src/version.o src/worker.o src/inspect.o src/job.o
DATA_built = sql/medup--0.1.sql
EXTRA_CLEAN = sql/catalog-data.sql
# -Wno-unused-parameter: PostgreSQL's own headers have unused parameters.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter

REGRESS = version catalog path fixtures status gate access audit
REGRESS_OPTS = --load-extension=medup

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

.DEFAULT_GOAL := all
.PHONY: demo check-all

demo:
	bash test/demo.sh

check-all:
	bash test/check.sh

ifneq ($(wildcard $(PGXS)),)
include $(PGXS)

# The install script is the hand-written SQL surface followed by the
# embedded catalog, generated from the two data files in sql/catalog/.
sql/catalog-data.sql: sql/catalog/releases.tsv sql/catalog/data_migrations.tsv sql/catalog/to-sql.awk
	awk -f sql/catalog/to-sql.awk sql/catalog/releases.tsv sql/catalog/data_migrations.tsv > $@

sql/medup--0.1.sql: sql/medup.sql sql/catalog-data.sql
	cat $^ > $@

else
all install installcheck:
	@echo "PostgreSQL server headers are missing: run 'bash test/deps.sh' (or 'make demo') first" >&2
	@exit 1
endif

print-regress:
	@echo $(REGRESS)
