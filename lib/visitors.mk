# Foundation visitors: QObject input and pretty-print output, and their
# tests (the QObject visitors' test program is registered in
# tests/unit/local.mk already).
lib_libvmscope_la_SOURCES += \
	lib/qobject-input-visitor.c \
	lib/include/vmscope/pretty-visitor.h lib/pretty-visitor.c

check_PROGRAMS += tests/unit/test-pretty-visitor
TESTS += tests/unit/test-pretty-visitor
tests_unit_test_pretty_visitor_SOURCES = tests/unit/test-pretty-visitor.c
tests_unit_test_pretty_visitor_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pretty_visitor_LDADD = $(UNIT_LDADD)
