# QEMU migration streams (lib/qemu-stream*.c, vmscope-view): unit tests,
# tests on real QEMU fixtures, live QEMU tests (slow) and a benchmark.
STREAM_FIXTURES = \
	tests/fixtures/pc-plain.mig.gz tests/fixtures/pc-plain.facts.json \
	tests/fixtures/pc-shared.mig.gz tests/fixtures/pc-shared.facts.json \
	tests/fixtures/q35-plain.mig.gz tests/fixtures/q35-plain.facts.json \
	tests/fixtures/q35-shared.mig.gz tests/fixtures/q35-shared.facts.json
EXTRA_DIST += $(STREAM_FIXTURES) \
	tests/fixtures/make-qemu-streams.sh tests/fixtures/qemu-streams.py \
	tests/integration/stream-fixture.h \
	tests/integration/stream-view.sh tests/integration/stream-qemu-live.sh

STREAM_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) -I$(top_srcdir)/tests/unit \
	-I$(top_srcdir)/tests/integration \
	-DVMS_FIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures"'
STREAM_LDADD = $(VMS_LIBS) $(CUNIT_LIBS)

check_PROGRAMS += tests/unit/test-qemu-stream tests/integration/test-stream-fixtures
TESTS += tests/unit/test-qemu-stream tests/integration/test-stream-fixtures \
	tests/integration/stream-view.sh tests/integration/stream-qemu-live.sh
SLOW_TESTS += tests/integration/stream-qemu-live.sh

tests_unit_test_qemu_stream_SOURCES = tests/unit/test-qemu-stream.c
tests_unit_test_qemu_stream_CFLAGS = $(STREAM_CFLAGS)
tests_unit_test_qemu_stream_LDADD = $(STREAM_LDADD)
tests_integration_test_stream_fixtures_SOURCES = tests/integration/test-stream-fixtures.c
tests_integration_test_stream_fixtures_CFLAGS = $(STREAM_CFLAGS)
tests_integration_test_stream_fixtures_LDADD = $(STREAM_LDADD)

# `make bench`: vmscope-view stream throughput on a fixture.
EXTRA_PROGRAMS += tests/bench/bench-stream
BENCHES += tests/bench/bench-stream
CLEANFILES += tests/bench/bench-stream
tests_bench_bench_stream_SOURCES = tests/bench/bench-stream.c
tests_bench_bench_stream_CFLAGS = $(STREAM_CFLAGS)
tests_bench_bench_stream_LDADD = $(VMS_LIBS)
