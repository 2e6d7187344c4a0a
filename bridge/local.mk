# bridge/: QMP protocol layer (dispatcher, wire codec, server, client).
# Programs that use it: foo_LDADD = $(BRIDGE_LIBS) and include
# "bridge/qmp-dispatch.h" etc. (the top source dir is on the include path).
noinst_LTLIBRARIES += bridge/libvmsbridge.la
bridge_libvmsbridge_la_SOURCES = \
	bridge/qmp-dispatch.h bridge/qmp-dispatch.c \
	bridge/qmp-json.h bridge/qmp-json.c \
	bridge/qmp-address.h bridge/qmp-address.c \
	bridge/qmp-server.h bridge/qmp-server.c \
	bridge/qmp-client.h bridge/qmp-client.c
BRIDGE_LIBS = bridge/libvmsbridge.la $(VMS_LIBS)

# Unit tests.
BRIDGE_UNIT_TESTS = tests/unit/test-qmp-dispatch tests/unit/test-qmp-json
check_PROGRAMS += $(BRIDGE_UNIT_TESTS)
TESTS += $(BRIDGE_UNIT_TESTS)
tests_unit_test_qmp_dispatch_SOURCES = tests/unit/test-qmp-dispatch.c
tests_unit_test_qmp_dispatch_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_qmp_dispatch_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_unit_test_qmp_json_SOURCES = tests/unit/test-qmp-json.c
tests_unit_test_qmp_json_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_qmp_json_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)

# Integration: a small vmscope QMP server, a real-socket test against it,
# and the side-by-side comparison with QEMU (slow: starts QEMU).
check_PROGRAMS += tests/integration/qmp-test-server \
	tests/integration/test-qmp-server tests/integration/test-qmp-compat
TESTS += tests/integration/test-qmp-server tests/integration/test-qmp-compat
SLOW_TESTS += tests/integration/test-qmp-compat

tests_integration_qmp_test_server_SOURCES = tests/integration/qmp-test-server.c \
	tests/integration/test-server-loop.h
tests_integration_qmp_test_server_LDADD = $(BRIDGE_LIBS)
tests_integration_test_qmp_server_SOURCES = tests/integration/test-qmp-server.c \
	tests/integration/qmp-test-util.h
tests_integration_test_qmp_server_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_integration_test_qmp_server_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_integration_test_qmp_compat_SOURCES = tests/integration/test-qmp-compat.c \
	tests/integration/qmp-test-util.h
tests_integration_test_qmp_compat_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_integration_test_qmp_compat_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)

# Benchmark: QMP round-trip latency.
EXTRA_PROGRAMS += tests/bench/bench-qmp
BENCHES += tests/bench/bench-qmp
CLEANFILES += tests/bench/bench-qmp$(EXEEXT)
tests_bench_bench_qmp_SOURCES = tests/bench/bench-qmp.c
tests_bench_bench_qmp_LDADD = $(BRIDGE_LIBS)
