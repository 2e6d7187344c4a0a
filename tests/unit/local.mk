# CUnit unit tests: one program per module, tests/unit/test-<module>.c.
UNIT_TESTS = \
	tests/unit/test-bytes \
	tests/unit/test-qobject \
	tests/unit/test-qobject-visitor

check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
UNIT_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
UNIT_LDADD = $(VMS_LIBS) $(CUNIT_LIBS)
EXTRA_DIST += tests/unit/cutest.h

tests_unit_test_qobject_SOURCES = tests/unit/test-qobject.c
tests_unit_test_qobject_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_qobject_LDADD = $(UNIT_LDADD)
tests_unit_test_qobject_visitor_SOURCES = tests/unit/test-qobject-visitor.c
tests_unit_test_qobject_visitor_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_qobject_visitor_LDADD = $(UNIT_LDADD)
tests_unit_test_bytes_SOURCES = tests/unit/test-bytes.c
tests_unit_test_bytes_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_bytes_LDADD = $(UNIT_LDADD)
