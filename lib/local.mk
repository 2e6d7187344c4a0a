# libvmscope: the core library every program links, assembled from one
# convenience library per module folder (each folder's local.mk builds its
# own).  Public headers: lib/include/vmscope/, one per module.
noinst_LTLIBRARIES += lib/libvmscope.la
lib_libvmscope_la_SOURCES =
lib_libvmscope_la_LIBADD = \
	lib/core/libcore.la lib/visitors/libvisitors.la lib/vmstate/libvmstate.la \
	lib/qemu-stream/libqemustream.la lib/shm/libshm.la lib/usdt/libusdt.la \
	lib/ber/libber.la $(TASN1_LIBS)
