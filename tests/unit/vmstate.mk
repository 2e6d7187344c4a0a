# Unit tests for the VMState engine and the QEMUFile visitors (h-vmstate).
VMSTATE_UNIT_TESTS = \
	tests/unit/test-vmstate \
	tests/unit/test-vmstate-desc \
	tests/unit/test-qemufile-visitor \
	tests/unit/test-vmstate-typecheck \
	tests/unit/test-vmstate-qobject
check_PROGRAMS += $(VMSTATE_UNIT_TESTS)
TESTS += $(VMSTATE_UNIT_TESTS)
EXTRA_DIST += tests/unit/vmstate-test-dev.h

tests_unit_test_vmstate_SOURCES = tests/unit/test-vmstate.c
tests_unit_test_vmstate_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vmstate_LDADD = $(UNIT_LDADD)
tests_unit_test_vmstate_desc_SOURCES = tests/unit/test-vmstate-desc.c
tests_unit_test_vmstate_desc_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vmstate_desc_LDADD = $(UNIT_LDADD)
tests_unit_test_vmstate_qobject_SOURCES = tests/unit/test-vmstate-qobject.c
tests_unit_test_vmstate_qobject_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vmstate_qobject_LDADD = $(UNIT_LDADD)
tests_unit_test_qemufile_visitor_SOURCES = tests/unit/test-qemufile-visitor.c
tests_unit_test_qemufile_visitor_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_qemufile_visitor_LDADD = $(UNIT_LDADD)
# Compiles snippets with the project's compiler and expects type errors.
tests_unit_test_vmstate_typecheck_SOURCES = tests/unit/test-vmstate-typecheck.c
tests_unit_test_vmstate_typecheck_CPPFLAGS = $(AM_CPPFLAGS) -DTEST_CC='"$(CC)"' \
	-DTEST_INCLUDES='"-I$(abs_top_srcdir)/lib/include $(GLIB_CFLAGS) $(JSONC_CFLAGS)"'
tests_unit_test_vmstate_typecheck_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vmstate_typecheck_LDADD = $(UNIT_LDADD)

# `make bench`: engine throughput figures.
EXTRA_PROGRAMS += tests/bench/bench-vmstate
BENCHES += tests/bench/bench-vmstate
CLEANFILES += tests/bench/bench-vmstate
tests_bench_bench_vmstate_SOURCES = tests/bench/bench-vmstate.c
tests_bench_bench_vmstate_LDADD = $(VMS_LIBS)
