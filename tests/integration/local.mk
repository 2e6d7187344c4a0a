# Integration tests: real processes, sockets, segments, QEMU, BPF (in temp
# dirs).  Tests that run QEMU, Prometheus, a browser or BPF are also listed
# in SLOW_TESTS (`make check-slow`; `make check-fast` runs the rest).  They
# skip (exit 77, saying why in their log) when what they need is missing.

# Helper programs the tests start.
check_PROGRAMS += tests/integration/shm-publisher tests/integration/qmp-test-server \
	tests/integration/http-test-server
tests_integration_shm_publisher_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_shm_publisher_LDADD = devices/libvmsdevices.la $(VMS_LIBS)
tests_integration_qmp_test_server_LDADD = $(BRIDGE_LIBS)
tests_integration_http_test_server_LDADD = $(HTTP_LIBS)

INTEGRATION_TESTS = \
	tests/integration/test-stream-fixtures \
	tests/integration/test-qmp-server tests/integration/test-qmp-compat \
	tests/integration/test-http-server tests/integration/test-http-prometheus \
	tests/integration/test-agent tests/integration/test-agent-devhost \
	tests/integration/test-agent-http tests/integration/test-agent-qemu \
	tests/integration/test-agent-qemu-dir tests/integration/test-agent-activation \
	tests/integration/test-devhost tests/integration/test-devhost-migrate \
	tests/integration/test-devhost-agent tests/integration/test-migrate-faults
check_PROGRAMS += $(INTEGRATION_TESTS)
TESTS += $(INTEGRATION_TESTS)
SLOW_TESTS += tests/integration/test-qmp-compat tests/integration/test-http-prometheus \
	tests/integration/test-agent-qemu tests/integration/test-migrate-faults

tests_integration_test_stream_fixtures_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_qmp_server_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_qmp_server_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_integration_test_qmp_compat_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_qmp_compat_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_integration_test_http_server_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_http_server_LDADD = $(HTTP_LIBS) $(CUNIT_LIBS)
tests_integration_test_http_prometheus_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_agent_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_agent_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_integration_test_agent_devhost_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_agent_devhost_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_integration_test_agent_http_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_agent_http_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_integration_test_agent_qemu_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_agent_qemu_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_integration_test_agent_qemu_dir_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_agent_qemu_dir_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_integration_test_agent_activation_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_agent_activation_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_integration_test_devhost_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_devhost_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_integration_test_devhost_migrate_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_devhost_migrate_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_integration_test_devhost_agent_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_devhost_agent_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)
tests_integration_test_migrate_faults_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_migrate_faults_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)

# Scripts: vmscope-view on the fixtures; live QEMU streams; vmscope-trace.
SCRIPT_TESTS = tests/integration/stream-view.sh tests/integration/stream-qemu-live.sh \
	tests/integration/view-disk-full.sh \
	tests/integration/trace-errors.py tests/integration/schema-agent.py \
	tests/integration/ber-view.sh tests/integration/migrate-ber.py \
	tests/integration/devhost-dump-vmstate.sh tests/integration/compat-view.sh \
	tests/integration/compat-devhost.py \
	tests/integration/filter-devhost.py tests/integration/filter-view.py \
	tests/integration/filter-qemu-live.sh tests/integration/agent-qemu-live.py
PROBES_SLOW_TESTS = \
	tests/integration/trace-qemu-file.py tests/integration/trace-bpftrace.py \
	tests/integration/trace-live.py tests/integration/trace-devhost-live.py \
	tests/integration/trace-devhost-file.py
TESTS += $(SCRIPT_TESTS) $(PROBES_SLOW_TESTS)
SLOW_TESTS += tests/integration/stream-qemu-live.sh tests/integration/filter-qemu-live.sh \
	tests/integration/agent-qemu-live.py \
	$(PROBES_SLOW_TESTS)

STREAM_FIXTURES = \
	tests/fixtures/pc-plain.mig.gz tests/fixtures/pc-plain.facts.json \
	tests/fixtures/pc-shared.mig.gz tests/fixtures/pc-shared.facts.json \
	tests/fixtures/q35-plain.mig.gz tests/fixtures/q35-plain.facts.json \
	tests/fixtures/q35-shared.mig.gz tests/fixtures/q35-shared.facts.json \
	tests/fixtures/pc-slirp.mig.gz tests/fixtures/pc-slirp.facts.json \
	tests/fixtures/q35-slirp.mig.gz tests/fixtures/q35-slirp.facts.json \
	tests/fixtures/pc-slirp4.mig.gz tests/fixtures/pc-slirp4.facts.json \
	tests/fixtures/q35-slirp4.mig.gz tests/fixtures/q35-slirp4.facts.json \
	tests/fixtures/pc-wide.mig.gz tests/fixtures/pc-wide.facts.json \
	tests/fixtures/q35-wide.mig.gz tests/fixtures/q35-wide.facts.json \
	tests/fixtures/pc20.mig.gz tests/fixtures/pc20.facts.json \
	tests/fixtures/pc20-vmdesc.mig.gz tests/fixtures/pc20-vmdesc.facts.json \
	tests/fixtures/pc-devstate.mig.gz tests/fixtures/pc-devstate.facts.json \
	tests/fixtures/pc-devstate.devstate.gz
EXTRA_DIST += $(SCRIPT_TESTS) $(PROBES_SLOW_TESTS) $(STREAM_FIXTURES) \
	tests/fixtures/make-qemu-streams.sh tests/fixtures/qemu-streams.py \
	tests/fixtures/make-qemu-dumps.sh tests/fixtures/qemu72-pc.vmstate.json.gz \
	tests/fixtures/qemu72-q35.vmstate.json.gz tests/integration/compat-edit-dump.py \
	tests/integration/tracetest.py tests/integration/stream-fixture.h \
	tests/integration/view-test.sh \
	tests/integration/testdev.h tests/integration/test-server-loop.h \
	tests/integration/agent-test-util.h tests/integration/agent-fixture.h \
	tests/integration/devhost-test-util.h tests/integration/http-test-util.h \
	tests/integration/qmp-test-util.h
