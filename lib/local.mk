# libvmscope: the core library, assembled from one convenience library per
# module folder (each folder's local.mk builds its own and adds its public
# header to vmscopeinclude_HEADERS).  Public headers: lib/include/vmscope/,
# one per module, installed as <vmscope/NAME.h>.
#
# Two libraries come out of the same objects:
#   lib/libvmscope-internal.la  every symbol visible; vmscope's own programs,
#       tests and benchmarks link it statically, so that each program carries
#       the USDT probes vmscope-trace and bpftrace attach to
#       (usdt:./vmscope-devhost:vmscope:put) and runs from the build tree as
#       it is, without a libtool wrapper;
#   lib/libvmscope.la  installed for other programs: libvmscope.so.0 exports
#       only what the public headers declare (lib/libvmscope.map), plus
#       libvmscope.a and vmscope.pc (pkg-config --cflags --libs vmscope).
# tests/install/ checks both promises: each header compiles alone, and the
# exports are exactly the headers' declarations.
noinst_LTLIBRARIES += lib/libvmscope-internal.la
lib_libvmscope_internal_la_SOURCES =
lib_libvmscope_internal_la_LIBADD = \
	lib/core/libcore.la lib/visitors/libvisitors.la lib/vmstate/libvmstate.la \
	lib/qemu-stream/libqemustream.la lib/shm/libshm.la lib/usdt/libusdt.la \
	lib/ber/libber.la lib/compat/libcompat.la lib/filter/libfilter.la $(TASN1_LIBS)

lib_LTLIBRARIES += lib/libvmscope.la
lib_libvmscope_la_SOURCES =
lib_libvmscope_la_LIBADD = lib/libvmscope-internal.la $(GLIB_LIBS) $(JSONC_LIBS) $(TASN1_LIBS) -lm
lib_libvmscope_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(LIBVMSCOPE_LT_VERSION) \
	-no-undefined -Wl,--version-script=$(srcdir)/lib/libvmscope.map
EXTRA_lib_libvmscope_la_DEPENDENCIES = lib/libvmscope.map
EXTRA_DIST += lib/libvmscope.map

vmscopeincludedir = $(includedir)/vmscope
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = lib/vmscope.pc
