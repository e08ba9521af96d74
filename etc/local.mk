# Configs, dev certificates and `make run`.
EXTRA_DIST += etc/bactrian-dev.conf.in etc/bactrian.conf.in
DISTCLEANFILES += etc/bactrian-dev.conf etc/bactrian.conf

# Self-signed dev certificates for the two demo vhosts, made at build time
# when missing (ECDSA P-256, 10 years, SAN = the vhost name).
DEV_CERTS = run/certs/localhost.crt run/certs/alt.localhost.crt
run/certs/%.crt:
	@$(MKDIR_P) run/certs
	$(AM_V_GEN)openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	  -days 3650 -subj "/CN=$*" -addext "subjectAltName=DNS:$*" \
	  -keyout run/certs/$*.key -out $@ 2>/dev/null

all-local: $(DEV_CERTS)
clean-local: clean-run
clean-run:
	-rm -rf run

.PHONY: run clean-run
# Starts both daemons in the foreground with the dev config; Ctrl-C stops both.
run: all $(DEV_CERTS)
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
EXTRA_DIST += tools/install-deps
