# Man pages: one scdoc source per program, docs/man/NAME.SECTION.scd, built
# by make into NAME.SECTION (with the package version in the footer) and
# installed.  The roff is never committed nor distributed: configure finds
# scdoc (Debian package scdoc).
MAN_PAGES = docs/man/vmscope-agent.1 docs/man/vmscope-devhost.1 docs/man/vmscope-view.1
if PROBES
MAN_PAGES += docs/man/vmscope-trace.1
endif
man1_MANS = $(MAN_PAGES)
CLEANFILES += docs/man/vmscope-agent.1 docs/man/vmscope-devhost.1 docs/man/vmscope-view.1 \
	docs/man/vmscope-trace.1
# docs/ is distributed whole (Makefile.am); pages built in the source tree stay out.
dist-hook: dist-hook-man
dist-hook-man:
	rm -f $(distdir)/docs/man/*.1
.PHONY: dist-hook-man

docs/man/%.1: $(srcdir)/docs/man/%.1.scd
	@$(MKDIR_P) docs/man
	$(AM_V_GEN)sed 's/[@]VERSION[@]/$(PACKAGE_VERSION)/' $< | $(SCDOC) > $@.tmp && mv $@.tmp $@
