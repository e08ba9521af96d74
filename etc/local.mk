# SPDX-License-Identifier: BSD-2-Clause
# Configs, dev certificates and `make run`.
EXTRA_DIST += etc/bactrian-dev.conf.in etc/bactrian.conf.in
DISTCLEANFILES += etc/bactrian-dev.conf etc/bactrian.conf

# Self-signed dev certificates for the two demo vhosts, made at build time
# when either file of a pair is missing (ECDSA P-256, 10 years, SAN = the
# vhost name).
DEV_VHOSTS = localhost alt.localhost
dev-certs:
	@for v in $(DEV_VHOSTS); do \
	  test -s run/certs/$$v.crt && test -s run/certs/$$v.key && continue; \
	  $(MKDIR_P) run/certs || exit 1; \
	  echo "  GEN      run/certs/$$v.crt"; \
	  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -days 3650 -subj "/CN=$$v" -addext "subjectAltName=DNS:$$v" \
	    -keyout run/certs/$$v.key -out run/certs/$$v.crt 2>/dev/null || exit 1; \
	done
.PHONY: dev-certs

all-local: dev-certs
# configure writes etc/bactrian-dev.conf; make rewrites it when the .in
# changes (nothing else depends on it, so a merged change would go unseen).
all-local: etc/bactrian-dev.conf
clean-local: clean-run
clean-run:
	-rm -rf run

.PHONY: run clean-run
# Starts both daemons in the foreground with the dev config; Ctrl-C stops both.
run: all dev-certs
	@$(SHELL) $(top_srcdir)/etc/run-dev.sh $(abs_top_builddir)
EXTRA_DIST += etc/run-dev.sh

# The production example carries installed paths, which must be expanded by
# make (configure leaves them as ${prefix}/...).
etc/bactrian.conf: $(top_srcdir)/etc/bactrian.conf.in Makefile
	@$(MKDIR_P) etc
	$(AM_V_GEN)sed -e 's|@sysconfdir[@]|$(sysconfdir)|g' -e 's|@runstatedir[@]|$(runstatedir)|g' \
	  -e 's|@localstatedir[@]|$(localstatedir)|g' -e 's|@moduledir[@]|$(moduledir)|g' \
	  -e 's|@websitedir[@]|$(websitedir)|g' $(top_srcdir)/etc/bactrian.conf.in > $@
all-local: etc/bactrian.conf
EXTRA_DIST += tools/install-deps tools/check-format

# ---- installation -----------------------------------------------------------
# Files that name installed paths are filled in at install time, from make's
# variables, so `make install prefix=/opt/x` (or sysconfdir=, runstatedir=,
# localstatedir= on the make command line) gets files that agree with it.
bactrianconfdir = $(sysconfdir)/bactrian
initddir = $(sysconfdir)/init.d
logrotatedir = $(sysconfdir)/logrotate.d
# systemd also reads units from /usr/local/lib/systemd/system; packagers set
# systemdunitdir=/lib/systemd/system on the make command line.
systemdunitdir = $(prefix)/lib/systemd/system
bactrianlogdir = $(localstatedir)/log/bactrian

bx_subst = sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@runstatedir[@]|$(runstatedir)|g' -e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@moduledir[@]|$(moduledir)|g' -e 's|@websitedir[@]|$(websitedir)|g'
# One init script template for both daemons.
bx_subst_initd = $(bx_subst) -e 's|@NAME@|bactrian-'"$$role"'|g' -e 's|@ROLE@|'"$$role"'|g' \
	-e "s|@AFTER@|$$after|g" -e "s|@DESCRIPTION@|$$desc|g" -e '/^\# Should-Stop: *$$/d'
bx_initd_roles = backend frontend
bx_role_vars = \
	case $$role in \
	backend) after=; desc="bactrian-backend serves HTTP and WebSocket sessions and runs the page modules.";; \
	frontend) after=bactrian-backend; desc="bactrian-frontend owns the listeners and TLS and relays each client to the backend.";; \
	esac

EXTRA_DIST += etc/init.d/bactrian.in etc/systemd/bactrian-backend.service.in \
	etc/systemd/bactrian-frontend.service.in etc/logrotate.d/bactrian.in

# The demo site www/ is installed by dist_website_DATA (www/local.mk).
install-data-local: install-bactrian-etc
uninstall-local: uninstall-bactrian-etc
.PHONY: install-bactrian-etc uninstall-bactrian-etc

install-bactrian-etc:
	$(MKDIR_P) '$(DESTDIR)$(bactrianconfdir)/certs' '$(DESTDIR)$(initddir)' \
	  '$(DESTDIR)$(systemdunitdir)' '$(DESTDIR)$(logrotatedir)' '$(DESTDIR)$(bactrianlogdir)'
	$(bx_subst) $(srcdir)/etc/bactrian.conf.in > '$(DESTDIR)$(bactrianconfdir)/bactrian.conf.example'
	chmod 644 '$(DESTDIR)$(bactrianconfdir)/bactrian.conf.example'
	@# The live config is installed once and never overwritten: it is the operator's.
	@if test -e '$(DESTDIR)$(bactrianconfdir)/bactrian.conf'; then \
	  echo "keeping $(DESTDIR)$(bactrianconfdir)/bactrian.conf (see bactrian.conf.example)"; \
	else \
	  echo "installing $(DESTDIR)$(bactrianconfdir)/bactrian.conf"; \
	  cp '$(DESTDIR)$(bactrianconfdir)/bactrian.conf.example' '$(DESTDIR)$(bactrianconfdir)/bactrian.conf'; \
	fi
	@set -e; for role in $(bx_initd_roles); do \
	  $(bx_role_vars); \
	  echo "installing $(DESTDIR)$(initddir)/bactrian-$$role"; \
	  $(bx_subst_initd) $(srcdir)/etc/init.d/bactrian.in > '$(DESTDIR)$(initddir)'/bactrian-$$role; \
	  chmod 755 '$(DESTDIR)$(initddir)'/bactrian-$$role; \
	  $(bx_subst) $(srcdir)/etc/systemd/bactrian-$$role.service.in \
	    > '$(DESTDIR)$(systemdunitdir)'/bactrian-$$role.service; \
	  chmod 644 '$(DESTDIR)$(systemdunitdir)'/bactrian-$$role.service; \
	done
	$(bx_subst) $(srcdir)/etc/logrotate.d/bactrian.in > '$(DESTDIR)$(logrotatedir)/bactrian'
	chmod 644 '$(DESTDIR)$(logrotatedir)/bactrian'

uninstall-bactrian-etc:
	@# The live config goes only if the operator never changed it.
	-if cmp -s '$(DESTDIR)$(bactrianconfdir)/bactrian.conf' \
	     '$(DESTDIR)$(bactrianconfdir)/bactrian.conf.example'; then \
	  rm -f '$(DESTDIR)$(bactrianconfdir)/bactrian.conf'; fi
	-rm -f '$(DESTDIR)$(bactrianconfdir)/bactrian.conf.example' '$(DESTDIR)$(logrotatedir)/bactrian'
	-for role in $(bx_initd_roles); do \
	  rm -f '$(DESTDIR)$(initddir)'/bactrian-$$role \
	    '$(DESTDIR)$(systemdunitdir)'/bactrian-$$role.service; done
	-rmdir '$(DESTDIR)$(bactrianconfdir)/certs' '$(DESTDIR)$(bactrianconfdir)' \
	  '$(DESTDIR)$(bactrianlogdir)' 2>/dev/null
