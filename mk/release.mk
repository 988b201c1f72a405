# mk/release.mk -- other majors, PostgreSQL's own tests, release tarball
#
# Included from the top-level Makefile; paths are relative to $(CURDIR), the
# repository root.  None of these targets needs PGXS in this Makefile: each
# script builds in a scratch copy of the tree with the pg_config it needs.
#
#   make matrix       build (no warnings allowed) and run the pg_regress suite
#                     on PostgreSQL 15, 17 and 18; one line per major ending
#                     "N passed, M failed" (MATRIX_MAJORS="17" for a subset).
#                     Downloads are cached in .cache/.
#   make test-core    PostgreSQL's core regression suite, with and without
#                     the library preloaded and the extension created; fails
#                     if a test fails only with it.
#   make check-meta   META.json parses and agrees with the control file
#   make dist         dist/deletion_firewall-<version>.tar.gz from git HEAD

REL_EXTENSION := deletion_firewall
# The version lives in the control file only.
REL_VERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" $(CURDIR)/$(REL_EXTENSION).control)
REL_NAME := $(REL_EXTENSION)-$(REL_VERSION)
REL_TARBALL := $(CURDIR)/dist/$(REL_NAME).tar.gz
MATRIX_MAJORS ?= 15 17 18

.PHONY: matrix test-core check-meta dist deps-15

# Both drive every server with Debian's PostgreSQL 15 (pg_regress, psql),
# whatever PG_CONFIG names; the servers run as the postgres account from
# copies it can reach, wherever the checkout sits.
deps-15:
	PG_MAJOR=15 $(CURDIR)/tests/setup-deps.sh

matrix: deps-15
	$(CURDIR)/tests/matrix.sh $(MATRIX_MAJORS)

test-core: deps-15
	$(CURDIR)/tests/core-regress.sh

check-meta:
	$(CURDIR)/tests/check-meta.sh

# What is committed at HEAD, under a deletion_firewall-<version>/ prefix.
# Uncommitted changes are not in it: say so rather than ship a surprise.
dist: check-meta
	@git -C $(CURDIR) diff --quiet HEAD -- 2>/dev/null || \
		echo "dist: uncommitted changes are not in the tarball (git archive HEAD)" >&2
	@mkdir -p $(CURDIR)/dist
	git -C $(CURDIR) archive --format=tar.gz --prefix=$(REL_NAME)/ \
		-o $(REL_TARBALL) HEAD
	@echo "dist: $(REL_TARBALL)"
