# mk/installcheck.mk -- 'make installcheck': the whole suite (pg_regress,
# isolation, TAP; tests/run-all.sh) against what is installed, as from the
# Debian package: no build, no install.  The same closing line as 'make
# test': "N passed, M failed".  PG_CONFIG names the installation.
#
# The Makefile sets NO_INSTALLCHECK, so PGXS defines no installcheck of its
# own (it would run REGRESS, which is unset here).  The servers run as the
# postgres account from a copy of the tests in /tmp (tests/lib.sh), so the
# checkout may sit where that account cannot read.
.PHONY: installcheck

installcheck: deps
	PG_CONFIG=$(PG_CONFIG) $(CURDIR)/tests/run-all.sh
