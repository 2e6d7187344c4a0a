# tests/install: what an installation promises, checked in the build tree
# (scripts/test-packages.sh checks the installed packages).
#   test-headers.sh        each public header is installed and compiles alone
#   test-exports.sh        libvmscope.so exports exactly the public API
#   libvmscope-example     someone else's program, linked against the shared
#                          library (also built after install, by
#                          scripts/test-packages.sh, with pkg-config's flags)
#   test-version.sh        PROGRAM --version prints the package version
#   test-man-pages.sh      a man page per program, rendered without warnings
#   test-completion.sh     bash completion, as bash-completion runs it
#   test-units.sh          systemd-analyze verify and security on the units
#   test-prometheus.sh     promtool on the rules (and their unit tests) and
#                          the dashboard; the metrics they name exist
INSTALL_SCRIPT_TESTS = tests/install/test-headers.sh tests/install/test-exports.sh \
	tests/install/test-version.sh tests/install/test-man-pages.sh \
	tests/install/test-completion.sh tests/install/test-units.sh \
	tests/install/test-prometheus.sh
TESTS += $(INSTALL_SCRIPT_TESTS) tests/install/libvmscope-example
EXTRA_DIST += $(INSTALL_SCRIPT_TESTS) tests/install/test-lib.sh
# The man pages and units must be built before their tests run.
check_DATA += $(MAN_PAGES) $(nodist_systemdsystemunit_DATA)
check_PROGRAMS += tests/install/libvmscope-example
# Public headers only, the shared library only: nothing of the tree's own.
tests_install_libvmscope_example_CPPFLAGS = -I$(top_srcdir)/lib/include $(GLIB_CFLAGS) $(JSONC_CFLAGS)
tests_install_libvmscope_example_LDADD = lib/libvmscope.la $(GLIB_LIBS) $(JSONC_LIBS)

AM_TESTS_ENVIRONMENT += VMS_CC='$(CC)' VMS_DEPS_CFLAGS='$(GLIB_CFLAGS) $(JSONC_CFLAGS)' \
	VMS_PUBLIC_HEADERS='$(vmscopeinclude_HEADERS)' VMS_PROGRAMS='$(bin_PROGRAMS)' \
	VMS_PACKAGE_VERSION='$(PACKAGE_VERSION)' VMS_MAN_PAGES='$(MAN_PAGES)' \
	VMS_BINDIR='$(bindir)' PROMTOOL='$(PROMTOOL)' SYSTEMD_ANALYZE='$(SYSTEMD_ANALYZE)'; \
	export VMS_CC VMS_DEPS_CFLAGS VMS_PUBLIC_HEADERS VMS_PROGRAMS VMS_PACKAGE_VERSION \
	VMS_MAN_PAGES VMS_BINDIR PROMTOOL SYSTEMD_ANALYZE;
