# Fuzzing (docs/fuzzing.md): one libFuzzer harness per decoder,
# tests/fuzz/fuzz-NAME.c, with its seed corpus in tests/fuzz/corpus/NAME.
# Configured with CC=clang --enable-fuzzing, `make fuzz` builds them as
# libFuzzer programs and tests/fuzz/run-fuzz.sh SECONDS runs them.  In every
# other build they are ordinary test programs (fuzz-main.c) that `make
# check` runs on their corpus and on the inputs that once broke something
# (tests/fuzz/regressions/NAME): every build replays them.
FUZZ_HARNESSES = tests/fuzz/fuzz-qemu-stream tests/fuzz/fuzz-vmstate-desc \
	tests/fuzz/fuzz-qmp-json tests/fuzz/fuzz-shm-reader tests/fuzz/fuzz-http-target \
	tests/fuzz/fuzz-compat-dump tests/fuzz/fuzz-filter tests/fuzz/fuzz-ber
if FUZZING
EXTRA_PROGRAMS += $(FUZZ_HARNESSES)
CLEANFILES += $(FUZZ_HARNESSES)
FUZZ_MAIN =
FUZZ_HARNESS_LINK = $(AM_LDFLAGS) -fsanitize=fuzzer
fuzz: $(FUZZ_HARNESSES)
else
check_PROGRAMS += $(FUZZ_HARNESSES)
TESTS += $(FUZZ_HARNESSES)
FUZZ_MAIN = tests/fuzz/fuzz-main.c
FUZZ_HARNESS_LINK = $(AM_LDFLAGS)
fuzz:
	@echo "make fuzz: configure a build with CC=clang --enable-fuzzing (docs/fuzzing.md)"; exit 1
endif
.PHONY: fuzz

tests_fuzz_fuzz_qemu_stream_SOURCES = tests/fuzz/fuzz-qemu-stream.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_qemu_stream_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"qemu-stream"'
tests_fuzz_fuzz_qemu_stream_LDFLAGS = $(FUZZ_HARNESS_LINK)
tests_fuzz_fuzz_qemu_stream_LDADD = $(VMS_LIBS)
tests_fuzz_fuzz_vmstate_desc_SOURCES = tests/fuzz/fuzz-vmstate-desc.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_vmstate_desc_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"vmstate-desc"'
tests_fuzz_fuzz_vmstate_desc_LDFLAGS = $(FUZZ_HARNESS_LINK)
tests_fuzz_fuzz_vmstate_desc_LDADD = $(VMS_LIBS)
tests_fuzz_fuzz_qmp_json_SOURCES = tests/fuzz/fuzz-qmp-json.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_qmp_json_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"qmp-json"'
tests_fuzz_fuzz_qmp_json_LDFLAGS = $(FUZZ_HARNESS_LINK)
tests_fuzz_fuzz_qmp_json_LDADD = $(BRIDGE_LIBS)
tests_fuzz_fuzz_shm_reader_SOURCES = tests/fuzz/fuzz-shm-reader.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_shm_reader_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"shm-reader"'
tests_fuzz_fuzz_shm_reader_LDFLAGS = $(FUZZ_HARNESS_LINK)
tests_fuzz_fuzz_shm_reader_LDADD = $(AGENT_LIBS)
tests_fuzz_fuzz_http_target_SOURCES = tests/fuzz/fuzz-http-target.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_http_target_CPPFLAGS = $(AM_CPPFLAGS) $(MHD_CFLAGS) -DFUZZ_NAME='"http-target"'
tests_fuzz_fuzz_http_target_LDFLAGS = $(FUZZ_HARNESS_LINK)
tests_fuzz_fuzz_http_target_LDADD = $(HTTP_LIBS)
tests_fuzz_fuzz_compat_dump_SOURCES = tests/fuzz/fuzz-compat-dump.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_compat_dump_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"compat-dump"'
tests_fuzz_fuzz_compat_dump_LDFLAGS = $(FUZZ_HARNESS_LINK)
tests_fuzz_fuzz_compat_dump_LDADD = $(VMS_LIBS)
tests_fuzz_fuzz_filter_SOURCES = tests/fuzz/fuzz-filter.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_filter_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"filter"'
tests_fuzz_fuzz_filter_LDFLAGS = $(FUZZ_HARNESS_LINK)
tests_fuzz_fuzz_filter_LDADD = $(VMS_LIBS)
tests_fuzz_fuzz_ber_SOURCES = tests/fuzz/fuzz-ber.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_ber_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"ber"'
tests_fuzz_fuzz_ber_LDFLAGS = $(FUZZ_HARNESS_LINK)
tests_fuzz_fuzz_ber_LDADD = $(VMS_LIBS)

# The binary seeds, written by vmscope's own writers: `make fuzz-seeds`, then
# tests/fuzz/fuzz-seeds $(top_srcdir)/tests/fuzz/corpus.
EXTRA_PROGRAMS += tests/fuzz/fuzz-seeds
CLEANFILES += tests/fuzz/fuzz-seeds
tests_fuzz_fuzz_seeds_LDADD = $(DEVHOST_LIBS)
fuzz-seeds: tests/fuzz/fuzz-seeds
.PHONY: fuzz-seeds

EXTRA_DIST += tests/fuzz/run-fuzz.sh tests/fuzz/corpus tests/fuzz/regressions
