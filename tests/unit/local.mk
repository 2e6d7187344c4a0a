# Unit tests (CUnit): one program per module, tests/unit/test-<module>.c,
# built from that one file.  Declaring one: add it to the list of its kind
# below; a test that links more than libvmscope says so with an _LDADD line.
UNIT_TESTS = \
	tests/unit/test-error tests/unit/test-bytes tests/unit/test-address tests/unit/test-cmdline \
	tests/unit/test-qobject tests/unit/test-qobject-visitor tests/unit/test-format \
	tests/unit/test-pretty-visitor tests/unit/test-string-visitor tests/unit/test-shm-segment \
	tests/unit/test-vmstate tests/unit/test-vmstate-desc tests/unit/test-qemufile-visitor \
	tests/unit/test-vmstate-typecheck tests/unit/test-vmstate-qobject \
	tests/unit/test-qemu-stream tests/unit/test-devices \
	tests/unit/test-qmp-dispatch tests/unit/test-qmp-json \
	tests/unit/test-agent-snapshot tests/unit/test-agent-registry tests/unit/test-trace-report \
	tests/unit/test-devhost tests/unit/test-ber-visitor tests/unit/test-json-schema-visitor \
	tests/unit/test-ber-stream tests/unit/test-compat tests/unit/test-filter \
	tests/unit/test-devices-stream tests/unit/test-qidl
if PROBES
# trace-points on this very test program, which carries vmscope's USDT probes.
UNIT_TESTS += tests/unit/test-trace-points
endif
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
EXTRA_DIST += tests/unit/cutest.h tests/unit/qemu-stream-test.h tests/unit/vmstate-test-dev.h tests/unit/test-trace-points.c

# Every test program gets the test include directories (cutest.h, the
# integration helpers, devices/, probes/) and the fixtures' location.
TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit -I$(top_srcdir)/tests/integration \
	-I$(top_srcdir)/devices -I$(top_srcdir)/probes \
	-DVMS_FIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures"'

tests_unit_test_error_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_bytes_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_address_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_cmdline_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_qobject_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_qobject_visitor_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_format_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_pretty_visitor_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_string_visitor_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_shm_segment_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_shm_segment_CFLAGS = $(AM_CFLAGS) -pthread
tests_unit_test_shm_segment_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_unit_test_vmstate_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_vmstate_desc_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_qemufile_visitor_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_vmstate_qobject_CPPFLAGS = $(TEST_CPPFLAGS)
# Compiles snippets with the project's compiler and expects type errors.
tests_unit_test_vmstate_typecheck_CPPFLAGS = $(TEST_CPPFLAGS) -DTEST_CC='"$(CC)"' \
	-DTEST_INCLUDES='"-I$(abs_top_srcdir)/lib/include $(GLIB_CFLAGS) $(JSONC_CFLAGS)"'
tests_unit_test_qemu_stream_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_devices_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_devices_LDADD = devices/libvmsdevices.la $(LDADD)
tests_unit_test_qmp_dispatch_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_qmp_dispatch_LDADD = bridge/libvmsbridge.la $(LDADD)
tests_unit_test_qmp_json_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_qmp_json_LDADD = bridge/libvmsbridge.la $(LDADD)
tests_unit_test_agent_snapshot_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_agent_snapshot_LDADD = $(AGENT_LIBS) $(LDADD)
tests_unit_test_agent_registry_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_agent_registry_LDADD = $(AGENT_LIBS) $(LDADD)
tests_unit_test_trace_report_SOURCES = tests/unit/test-trace-report.c \
	probes/trace-report.c probes/trace-report.h probes/trace-event.h
tests_unit_test_trace_report_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_trace_points_SOURCES = tests/unit/test-trace-points.c \
	probes/trace-points.c probes/trace-points.h probes/trace-event.h
tests_unit_test_trace_points_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_trace_points_LDADD = $(LDADD) -lelf
tests_unit_test_devhost_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_ber_visitor_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_json_schema_visitor_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_ber_stream_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_devhost_LDADD = $(DEVHOST_LIBS) $(LDADD)
tests_unit_test_compat_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_filter_CPPFLAGS = $(TEST_CPPFLAGS)
# Streams of a host in a fixed state, made before the devices were generated (QIDL).
tests_unit_test_devices_stream_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_devices_stream_LDADD = $(DEVHOST_LIBS) $(LDADD)
# Runs qidl/qidl on small files, compiles what it writes and links it with libvmscope.
tests_unit_test_qidl_CPPFLAGS = $(TEST_CPPFLAGS) -DTEST_CC='"$(CC) $(SAN_CFLAGS)"' \
	-DTEST_INCLUDES='"-I$(abs_top_builddir) -I$(abs_top_srcdir) -I$(abs_top_srcdir)/lib/include -I$(abs_top_srcdir)/devices $(GLIB_CFLAGS) $(JSONC_CFLAGS)"' \
	-DTEST_LIBS='"$(abs_top_builddir)/lib/.libs/libvmscope-internal.a $(GLIB_LIBS) $(JSONC_LIBS) $(TASN1_LIBS) -lm"'
EXTRA_tests_unit_test_qidl_DEPENDENCIES = qidl/qidl$(EXEEXT) viewers/vmscope-view$(EXEEXT)
EXTRA_DIST += tests/fixtures/devhost-fixed.mig tests/fixtures/devhost-fixed.ber \
	tests/fixtures/devhost-fixed-old.mig tests/fixtures/devhost-fixed-old.ber
