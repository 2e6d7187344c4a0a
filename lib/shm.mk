# Shared-memory segments (lib/shm-*.c): the library module, its unit test
# and its benchmark.
lib_libvmscope_la_SOURCES += \
	lib/include/vmscope/shm-segment.h lib/shm-segment-impl.h \
	lib/shm-segment.c lib/shm-writer.c lib/shm-reader.c

check_PROGRAMS += tests/unit/test-shm-segment
TESTS += tests/unit/test-shm-segment
tests_unit_test_shm_segment_SOURCES = tests/unit/test-shm-segment.c
tests_unit_test_shm_segment_CFLAGS = $(UNIT_CFLAGS) -pthread
tests_unit_test_shm_segment_LDADD = $(UNIT_LDADD)
tests_unit_test_shm_segment_LDFLAGS = $(AM_LDFLAGS) -pthread

EXTRA_PROGRAMS += tests/bench/bench-shm
BENCHES += tests/bench/bench-shm
tests_bench_bench_shm_SOURCES = tests/bench/bench-shm.c
tests_bench_bench_shm_CFLAGS = $(AM_CFLAGS) -pthread
tests_bench_bench_shm_LDADD = $(VMS_LIBS)
tests_bench_bench_shm_LDFLAGS = $(AM_LDFLAGS) -pthread
CLEANFILES += tests/bench/bench-shm
