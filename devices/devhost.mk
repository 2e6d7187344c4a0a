# vmscope-devhost: the device host (devices/devhost.c), its QMP monitor
# (devices/devhost-qmp.c) and migration (devices/migration*.c), with their
# tests and the migration benchmark.
noinst_LTLIBRARIES += devices/libvmsdevhost.la
devices_libvmsdevhost_la_SOURCES = \
	devices/devhost.h devices/devhost.c \
	devices/devhost-qmp.h devices/devhost-qmp.c \
	devices/migration.h devices/migration.c devices/migration-stream.c
devices_libvmsdevhost_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/devices -I$(top_srcdir)
DEVHOST_LIBS = devices/libvmsdevhost.la devices/libvmsdevices.la $(BRIDGE_LIBS)

bin_PROGRAMS += devices/vmscope-devhost
devices_vmscope_devhost_SOURCES = devices/vmscope-devhost.c
devices_vmscope_devhost_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/devices -I$(top_srcdir)
devices_vmscope_devhost_LDADD = $(DEVHOST_LIBS)

# Integration tests: real processes, sockets and segments (in a temp dir).
DEVHOST_TEST_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
DEVHOST_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) -I$(top_srcdir)/tests/integration
DEVHOST_TEST_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
check_PROGRAMS += tests/integration/test-devhost
TESTS += tests/integration/test-devhost
tests_integration_test_devhost_SOURCES = tests/integration/test-devhost.c \
	tests/integration/devhost-test-util.h
tests_integration_test_devhost_CFLAGS = $(DEVHOST_TEST_CFLAGS)
tests_integration_test_devhost_CPPFLAGS = $(DEVHOST_TEST_CPPFLAGS)
tests_integration_test_devhost_LDADD = $(DEVHOST_TEST_LDADD)
check_PROGRAMS += tests/integration/test-devhost-migrate
TESTS += tests/integration/test-devhost-migrate
tests_integration_test_devhost_migrate_SOURCES = tests/integration/test-devhost-migrate.c \
	tests/integration/devhost-test-util.h
tests_integration_test_devhost_migrate_CFLAGS = $(DEVHOST_TEST_CFLAGS)
tests_integration_test_devhost_migrate_CPPFLAGS = $(DEVHOST_TEST_CPPFLAGS)
tests_integration_test_devhost_migrate_LDADD = $(DEVHOST_TEST_LDADD)

# Benchmark: migration time of a 1,000-device host.  Also by hand, under a
# tracer: tests/bench/bench-devhost-migrate [DEVHOST [RUNS [DEVICES]]].
EXTRA_PROGRAMS += tests/bench/bench-devhost-migrate
BENCHES += tests/bench/bench-devhost-migrate
CLEANFILES += tests/bench/bench-devhost-migrate$(EXEEXT)
tests_bench_bench_devhost_migrate_SOURCES = tests/bench/bench-devhost-migrate.c \
	tests/integration/devhost-test-util.h
tests_bench_bench_devhost_migrate_CPPFLAGS = $(DEVHOST_TEST_CPPFLAGS)
tests_bench_bench_devhost_migrate_LDADD = $(BRIDGE_LIBS)
# Through vmscope-agent (skips until the agent is in the tree).
check_PROGRAMS += tests/integration/test-devhost-agent
TESTS += tests/integration/test-devhost-agent
tests_integration_test_devhost_agent_SOURCES = tests/integration/test-devhost-agent.c \
	tests/integration/devhost-test-util.h
tests_integration_test_devhost_agent_CFLAGS = $(DEVHOST_TEST_CFLAGS)
tests_integration_test_devhost_agent_CPPFLAGS = $(DEVHOST_TEST_CPPFLAGS)
tests_integration_test_devhost_agent_LDADD = $(DEVHOST_TEST_LDADD)

# Unit test: the host and the stream load/save, in one process.
check_PROGRAMS += tests/unit/test-devhost
TESTS += tests/unit/test-devhost
tests_unit_test_devhost_SOURCES = tests/unit/test-devhost.c
tests_unit_test_devhost_CFLAGS = $(DEVHOST_TEST_CFLAGS)
tests_unit_test_devhost_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) -I$(top_srcdir)/devices \
	-I$(top_srcdir)/tests/unit
tests_unit_test_devhost_LDADD = $(DEVHOST_LIBS) $(CUNIT_LIBS)
