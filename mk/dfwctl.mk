# mk/dfwctl.mk -- build and install dfwctl, the approvers' command-line tool
#
# Included from the top-level Makefile (after PGXS).  dfwctl is a plain
# libpq client, so it is built with its own rule rather than PGXS's
# PROGRAM (which cannot live next to MODULE_big).  It hooks into PGXS's
# targets by adding prerequisites only:
#
#   make              also builds dfwctl/dfwctl
#   make install      also copies it into $(pg_config --bindir)
#   make uninstall    also removes it from there
#   make clean        also removes dfwctl/dfwctl (EXTRA_CLEAN)

# Nothing to hook into when PGXS was not found ('make deps' not run yet).
ifneq ($(wildcard $(PGXS)),)

DFWCTL = dfwctl/dfwctl
DFWCTL_BINDIR := $(shell $(PG_CONFIG) --bindir)
DFWCTL_INCLUDEDIR := $(shell $(PG_CONFIG) --includedir)
DFWCTL_LIBDIR := $(shell $(PG_CONFIG) --libdir)
# The version lives in the control file only.
DFWCTL_VERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" deletion_firewall.control)
DFWCTL_CFLAGS = -O2 -g -Wall -Wextra -Werror $(DFWCTL_EXTRA_CFLAGS)
# Packagers: DFWCTL_EXTRA_CFLAGS and DFWCTL_LDFLAGS carry the distribution's
# flags (debian/rules passes dpkg-buildflags), and DFWCTL_RPATH= drops the
# rpath where libpq is in the default library search path.
DFWCTL_EXTRA_CFLAGS ?=
DFWCTL_LDFLAGS ?=
DFWCTL_RPATH ?= -Wl,-rpath,$(DFWCTL_LIBDIR)

all: $(DFWCTL)

$(DFWCTL): dfwctl/dfwctl.c deletion_firewall.control
	$(CC) $(DFWCTL_CFLAGS) -DDFWCTL_VERSION='"$(DFWCTL_VERSION)"' \
		-I$(DFWCTL_INCLUDEDIR) -o $@ dfwctl/dfwctl.c \
		$(DFWCTL_LDFLAGS) -L$(DFWCTL_LIBDIR) $(DFWCTL_RPATH) -lpq

.PHONY: install-dfwctl uninstall-dfwctl

install: install-dfwctl

install-dfwctl: $(DFWCTL)
	$(MKDIR_P) '$(DESTDIR)$(DFWCTL_BINDIR)'
	$(INSTALL_PROGRAM) $(DFWCTL) '$(DESTDIR)$(DFWCTL_BINDIR)/dfwctl'

uninstall: uninstall-dfwctl

uninstall-dfwctl:
	rm -f '$(DESTDIR)$(DFWCTL_BINDIR)/dfwctl'

EXTRA_CLEAN += $(DFWCTL)

endif
