# USDT probes (provider "vmscope") in the VMState engine and the visitors,
# for vmscope-trace: see lib/include/vmscope/trace-usdt.h.  Without
# <sys/sdt.h> (systemtap-sdt-dev) the library builds without probes.
lib_libvmscope_la_SOURCES += \
	lib/include/vmscope/trace-usdt.h lib/trace-usdt.c lib/trace-usdt-names.c
