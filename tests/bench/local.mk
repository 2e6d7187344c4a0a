# `make bench`: programs that print figures (never timed tests).  Built on
# demand (EXTRA_PROGRAMS), run by the `bench` target in Makefile.am.
BENCHMARK_BINS = tests/bench/bench-shm tests/bench/bench-vmstate tests/bench/bench-stream \
	tests/bench/bench-qmp tests/bench/bench-http tests/bench/bench-agent \
	tests/bench/bench-devhost-migrate tests/bench/bench-ber tests/bench/bench-compat \
	tests/bench/bench-load
EXTRA_PROGRAMS += $(BENCHMARK_BINS)
BENCHES += $(BENCHMARK_BINS) tests/bench/bench-trace.py tests/bench/bench-qemu-snapshot.py
CLEANFILES += $(BENCHMARK_BINS)
EXTRA_DIST += tests/bench/bench-trace.py tests/bench/bench-qemu-snapshot.py

tests_bench_bench_shm_CFLAGS = $(AM_CFLAGS) -pthread
tests_bench_bench_shm_LDADD = $(VMS_LIBS)
tests_bench_bench_shm_LDFLAGS = $(AM_LDFLAGS) -pthread
tests_bench_bench_vmstate_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_bench_vmstate_LDADD = $(VMS_LIBS)
tests_bench_bench_stream_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_bench_stream_LDADD = $(VMS_LIBS)
tests_bench_bench_qmp_LDADD = $(BRIDGE_LIBS)
tests_bench_bench_http_LDADD = $(HTTP_LIBS)
tests_bench_bench_agent_SOURCES = tests/bench/bench-agent.c tests/bench/bench-hosts.h
tests_bench_bench_agent_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_bench_agent_LDADD = $(AGENT_LIBS) devices/libvmsdevices.la
tests_bench_bench_devhost_migrate_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_bench_devhost_migrate_LDADD = $(BRIDGE_LIBS)
tests_bench_bench_ber_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_bench_ber_LDADD = $(DEVHOST_LIBS) $(VMS_LIBS)
tests_bench_bench_compat_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_bench_compat_LDADD = $(VMS_LIBS)
tests_bench_bench_load_SOURCES = tests/bench/bench-load.c tests/bench/bench-hosts.h
tests_bench_bench_load_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_bench_load_LDADD = devices/libvmsdevices.la $(VMS_LIBS)
