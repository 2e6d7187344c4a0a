# agent/: vmscope-agent.  The logic is a convenience library (registry,
# snapshots, commands, QEMU hosts) that the program, tests and benchmarks link.
noinst_LTLIBRARIES += agent/libvmsagent.la
agent_libvmsagent_la_SOURCES = \
	agent/snapshot.h agent/snapshot.c \
	agent/registry.h agent/registry.c \
	agent/qemu-host.h agent/qemu-host.c \
	agent/commands.h agent/commands.c
AGENT_LIBS = agent/libvmsagent.la $(BRIDGE_LIBS)

bin_PROGRAMS += agent/vmscope-agent
agent_vmscope_agent_SOURCES = agent/vmscope-agent.c
agent_vmscope_agent_LDADD = $(AGENT_LIBS)

# A test device host: shm writer + device models + testdev, driven on stdin.
check_PROGRAMS += tests/integration/shm-publisher
tests_integration_shm_publisher_SOURCES = tests/integration/shm-publisher.c \
	tests/integration/testdev.h
tests_integration_shm_publisher_LDADD = devices/libvmsdevices.la $(VMS_LIBS)

# `vmscope-view state` (viewers/view-state.c) asks an agent: it needs the
# QMP client.  Added here so that viewers/local.mk stays as it is.
viewers_vmscope_view_SOURCES += viewers/view-state.c viewers/view-state.h
viewers_vmscope_view_LDADD += $(BRIDGE_LIBS)

# Integration test: the agent and vmscope-view against shm-publisher hosts.
check_PROGRAMS += tests/integration/test-agent
TESTS += tests/integration/test-agent
tests_integration_test_agent_SOURCES = tests/integration/test-agent.c \
	tests/integration/agent-test-util.h tests/integration/agent-fixture.h tests/integration/testdev.h
tests_integration_test_agent_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_integration_test_agent_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)

# Unit test: snapshots, descriptions, differences, device paths.
check_PROGRAMS += tests/unit/test-agent-snapshot
TESTS += tests/unit/test-agent-snapshot
tests_unit_test_agent_snapshot_SOURCES = tests/unit/test-agent-snapshot.c \
	tests/integration/testdev.h
tests_unit_test_agent_snapshot_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_agent_snapshot_LDADD = $(AGENT_LIBS) $(CUNIT_LIBS)

# Benchmark: snapshot/walk/JSON costs, change detection, QMP round trips
# (runs tests/bench/bench-qmp against an agent in its own process).
EXTRA_PROGRAMS += tests/bench/bench-agent
BENCHES += tests/bench/bench-agent
CLEANFILES += tests/bench/bench-agent$(EXEEXT)
tests_bench_bench_agent_SOURCES = tests/bench/bench-agent.c
tests_bench_bench_agent_LDADD = $(AGENT_LIBS) devices/libvmsdevices.la $(VMS_LIBS)

# Integration test against vmscope-devhost (skips while it is not built).
check_PROGRAMS += tests/integration/test-agent-devhost
TESTS += tests/integration/test-agent-devhost
tests_integration_test_agent_devhost_SOURCES = tests/integration/test-agent-devhost.c \
	tests/integration/agent-test-util.h
tests_integration_test_agent_devhost_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_integration_test_agent_devhost_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)

# Slow: the agent's --qemu hosts against a real QEMU.
check_PROGRAMS += tests/integration/test-agent-qemu
TESTS += tests/integration/test-agent-qemu
SLOW_TESTS += tests/integration/test-agent-qemu
tests_integration_test_agent_qemu_SOURCES = tests/integration/test-agent-qemu.c \
	tests/integration/agent-test-util.h
tests_integration_test_agent_qemu_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_integration_test_agent_qemu_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
