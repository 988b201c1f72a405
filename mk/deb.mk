# mk/deb.mk -- 'make deb': the Debian package
#
#   dist/postgresql-15-deletion-firewall_<version>-1_<arch>.deb
#
# built with Debian's PostgreSQL extension tooling (debian/: pg_buildext,
# the pgxs_loop debhelper sequence) by tests/deb-build.sh, in a scratch copy
# of the tree under /tmp, then checked with lintian (no errors allowed).
# The version is the control file's default_version, Debian revision 1.
# As root it first installs what the build needs (debhelper,
# postgresql-server-dev-all, postgresql-server-dev-15, libpq-dev, lintian,
# build-essential).  Does not need PGXS here: the package build finds it.
#
# tests/deb-check.sh proves the package: make deb, dpkg -i, make
# installcheck, dpkg -r, and no installed file left behind.
.PHONY: deb deb-check

deb:
	$(CURDIR)/tests/deb-build.sh

deb-check:
	$(CURDIR)/tests/deb-check.sh
