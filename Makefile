EXTENSION = deletion_firewall
MODULE_big = deletion_firewall
OBJS = $(patsubst %.c,%.o,$(wildcard extension/*.c))
DATA = $(wildcard extension/deletion_firewall--*.sql)
PG_CONFIG ?= pg_config
# The version lives in one place, the control file.
DFW_VERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(dir $(lastword $(MAKEFILE_LIST)))deletion_firewall.control)
PG_CPPFLAGS = -I$(srcdir)/extension -DDFW_VERSION=\"$(DFW_VERSION)\"
# Strict: warnings are errors.  Silenced narrowly: unused parameters and
# field initializers (PostgreSQL's hook signatures and headers), and
# -Wclobbered, which gcc raises on PG_TRY's setjmp in PostgreSQL's own macros.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare -Wno-clobbered

# Tests are run by tests/run-all.sh (pg_regress with --temp-instance, the
# isolation tester and TAP), not by PGXS's installcheck: REGRESS stays unset,
# and PGXS defines no installcheck (ours is in mk/installcheck.mk).
NO_INSTALLCHECK = 1

EXTRA_CLEAN = results log regression.diffs regression.out output_iso tests/tmp_check

# On a fresh machine pg_config or PGXS may be missing until 'make deps' ran;
# do not fail while reading this file, so that 'make deps' can still work.
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
# PGXS tracks no header dependencies: every object depends on the headers.
$(OBJS): $(wildcard extension/*.h)
else
all install:
	@echo "PGXS not found via '$(PG_CONFIG) --pgxs'; run 'make deps' as root first" >&2
	@exit 1
endif
# Further targets (dfwctl, bench, matrix, release, deb, installcheck), one
# fragment each; those that need PGXS check for it themselves.
-include mk/*.mk

.PHONY: deps test demo format

# The packages of the major that PG_CONFIG names (tests/setup-deps.sh).
deps:
	PG_CONFIG=$(PG_CONFIG) tests/setup-deps.sh

# Recursive makes so that PGXS is read again after 'deps' installed it.
test: deps
	$(MAKE) all
	$(MAKE) install
	PG_CONFIG=$(PG_CONFIG) tests/run-all.sh

demo: deps
	$(MAKE) all
	$(MAKE) install
	PG_CONFIG=$(PG_CONFIG) tests/demo.sh

# The sources follow pgindent's layout, which clang-format can only
# approximate (.clang-format); so 'make format' touches only the files named:
#   make format FILES="extension/new_file.c"
format:
	$(if $(FILES),clang-format -i $(FILES),@echo 'usage: make format FILES="extension/x.c ..." (clang-format approximates pgindent; name only new or rewritten files)')
