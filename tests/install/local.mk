# tests/install: what an installation promises, checked in the build tree.
#   test-headers.sh        each public header is installed and compiles alone
#   test-exports.sh        libvmscope.so exports exactly the public API
#   libvmscope-example     someone else's program, linked against the shared
#                          library (also built after install, by
#                          scripts/test-packages.sh, with pkg-config's flags)
INSTALL_TESTS = tests/install/test-headers.sh tests/install/test-exports.sh \
	tests/install/libvmscope-example
TESTS += $(INSTALL_TESTS)
EXTRA_DIST += tests/install/test-headers.sh tests/install/test-exports.sh
check_PROGRAMS += tests/install/libvmscope-example
# Public headers only, the shared library only: nothing of the tree's own.
tests_install_libvmscope_example_CPPFLAGS = -I$(top_srcdir)/lib/include $(GLIB_CFLAGS) $(JSONC_CFLAGS)
tests_install_libvmscope_example_LDADD = lib/libvmscope.la $(GLIB_LIBS) $(JSONC_LIBS)

AM_TESTS_ENVIRONMENT += VMS_CC='$(CC)' VMS_DEPS_CFLAGS='$(GLIB_CFLAGS) $(JSONC_CFLAGS)' \
	VMS_PUBLIC_HEADERS='$(vmscopeinclude_HEADERS)'; \
	export VMS_CC VMS_DEPS_CFLAGS VMS_PUBLIC_HEADERS;
