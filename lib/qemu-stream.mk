# QEMU migration streams: parse, decode with the vmdesc, edit, write, build, diff.
lib_libvmscope_la_SOURCES += \
	lib/include/vmscope/qemu-stream.h lib/qemu-stream-impl.h \
	lib/qemu-stream.c lib/qemu-stream-edit.c lib/qemu-stream-vmdesc.c lib/qemu-stream-ram.c \
	lib/qemu-stream-builder.c lib/qemu-stream-diff.c
