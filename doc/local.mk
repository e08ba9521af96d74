# SPDX-License-Identifier: BSD-2-Clause
# Man pages and guides. The man pages name the configured paths, filled in
# at build time from the .in sources.
bx_man_pages = doc/bactrian-frontend.8 doc/bactrian-backend.8 doc/bactrian.conf.5
man_MANS = $(bx_man_pages)
CLEANFILES += $(bx_man_pages)
EXTRA_DIST += doc/bactrian-frontend.8.in doc/bactrian-backend.8.in doc/bactrian.conf.5.in
dist_doc_DATA = doc/deployment.md doc/modules.md doc/design.md doc/security.md doc/websocket.md \
	doc/scaling.md
bxexamplesdir = $(docdir)/examples
dist_bxexamples_DATA = doc/examples/greet.c
BX_MAN_DATE = November 2026

bx_man_subst = $(AM_V_GEN)$(MKDIR_P) doc && sed -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@runstatedir[@]|$(runstatedir)|g' -e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@moduledir[@]|$(moduledir)|g' -e 's|@docdir[@]|$(docdir)|g' \
	-e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' -e 's|@PACKAGE_DATE[@]|$(BX_MAN_DATE)|g'
doc/bactrian-frontend.8: $(top_srcdir)/doc/bactrian-frontend.8.in Makefile
	$(bx_man_subst) $(top_srcdir)/doc/bactrian-frontend.8.in > $@
doc/bactrian-backend.8: $(top_srcdir)/doc/bactrian-backend.8.in Makefile
	$(bx_man_subst) $(top_srcdir)/doc/bactrian-backend.8.in > $@
doc/bactrian.conf.5: $(top_srcdir)/doc/bactrian.conf.5.in Makefile
	$(bx_man_subst) $(top_srcdir)/doc/bactrian.conf.5.in > $@
