# probes/: vmscope-trace, its BPF program and the tests that run it.
#
# The BPF side is built with clang into probes/vmscope-trace.bpf.o, against a
# vmlinux.h dumped from the running kernel's BTF; bpftool turns the object
# into a skeleton header that the loader includes.  All three are generated
# at build time and never distributed or committed.

PROBES_SOURCES = \
	probes/vmscope-trace.c \
	probes/trace-event.h \
	probes/trace-points.c probes/trace-points.h \
	probes/trace-attach.c probes/trace-attach.h \
	probes/trace-report.c probes/trace-report.h
EXTRA_DIST += $(PROBES_SOURCES) probes/vmscope-trace.bpf.c

if PROBES
bin_PROGRAMS += probes/vmscope-trace
probes_vmscope_trace_SOURCES = $(PROBES_SOURCES)
nodist_probes_vmscope_trace_SOURCES = probes/vmscope-trace.skel.h
probes_vmscope_trace_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/probes -I$(top_srcdir)/probes \
	$(LIBBPF_CFLAGS)
# libbpf-dev depends on libelf-dev: where libbpf builds, -lelf links.
probes_vmscope_trace_LDADD = lib/libvmscope-internal.la $(GLIB_LIBS) $(JSONC_LIBS) $(LIBBPF_LIBS) -lelf -lm

# The skeleton must exist before the loader compiles (dependency tracking
# only knows about it after a first build).
probes/vmscope_trace-vmscope-trace.$(OBJEXT): probes/vmscope-trace.skel.h

# bpf_tracing.h wants the kernel's name of the architecture.
BPF_TARGET_ARCH = $$(case "$(host_cpu)" in \
	x86_64|i?86) echo x86;; aarch64*) echo arm64;; arm*) echo arm;; \
	s390*) echo s390;; powerpc*|ppc*) echo powerpc;; riscv*) echo riscv;; \
	loongarch*) echo loongarch;; mips*) echo mips;; *) echo "$(host_cpu)";; esac)

# <bpf/usdt.bpf.h> includes <linux/errno.h>, which wants <asm/errno.h> from
# the multiarch include directory (Debian: /usr/include/x86_64-linux-gnu).
BPF_MULTIARCH_INCLUDE = $$(d=$$($(CC) -print-multiarch 2>/dev/null); \
	test -n "$$d" && test -d "/usr/include/$$d" && echo "-idirafter /usr/include/$$d")

probes/vmlinux.h:
	@$(MKDIR_P) probes
	@test -r /sys/kernel/btf/vmlinux || { \
	  echo "probes: /sys/kernel/btf/vmlinux is missing (a kernel without BTF);" \
	       "configure with --enable-probes=no" >&2; exit 1; }
	$(AM_V_GEN)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

probes/vmscope-trace.bpf.o: $(srcdir)/probes/vmscope-trace.bpf.c $(srcdir)/probes/trace-event.h \
		probes/vmlinux.h
	@$(MKDIR_P) probes
	$(AM_V_GEN)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_TARGET_ARCH) \
	  -Wall -Werror -I$(top_builddir)/probes -I$(srcdir)/probes $(BPF_MULTIARCH_INCLUDE) \
	  -c $(srcdir)/probes/vmscope-trace.bpf.c -o $@

probes/vmscope-trace.skel.h: probes/vmscope-trace.bpf.o
	$(AM_V_GEN)$(BPFTOOL) gen skeleton $< name vmscope_trace_bpf > $@.tmp && mv $@.tmp $@

CLEANFILES += probes/vmlinux.h probes/vmscope-trace.bpf.o probes/vmscope-trace.skel.h
endif
