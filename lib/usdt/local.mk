# lib/usdt: USDT probes (provider "vmscope") in the engine and the visitors,
# for vmscope-trace (see lib/include/vmscope/trace-usdt.h).  Without
# <sys/sdt.h> (systemtap-sdt-dev) the library builds without probes.
noinst_LTLIBRARIES += lib/usdt/libusdt.la
lib_usdt_libusdt_la_SOURCES = \
	lib/include/vmscope/trace-usdt.h lib/usdt/trace-usdt.c lib/usdt/trace-usdt-names.c
vmscopeinclude_HEADERS += lib/include/vmscope/trace-usdt.h
