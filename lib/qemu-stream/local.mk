# lib/qemu-stream: QEMU migration streams: parse, decode, edit, write, build, diff;
# a device's section and its vmdesc, both ways.
noinst_LTLIBRARIES += lib/qemu-stream/libqemustream.la
lib_qemu_stream_libqemustream_la_SOURCES = \
	lib/include/vmscope/qemu-stream.h lib/qemu-stream/qemu-stream-impl.h \
	lib/qemu-stream/qemu-stream.c lib/qemu-stream/qemu-stream-edit.c \
	lib/qemu-stream/qemu-stream-vmdesc.c lib/qemu-stream/qemu-stream-descs.c \
	lib/qemu-stream/qemu-stream-save.c lib/qemu-stream/qemu-stream-cache.c \
	lib/qemu-stream/qemu-stream-ram.c \
	lib/qemu-stream/qemu-stream-builder.c lib/qemu-stream/qemu-stream-diff.c
vmscopeinclude_HEADERS += lib/include/vmscope/qemu-stream.h
