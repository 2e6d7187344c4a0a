# libvmscope: the core library every program links.
noinst_LTLIBRARIES += lib/libvmscope.la
lib_libvmscope_la_SOURCES = \
	lib/include/vmscope/error.h lib/error.c \
	lib/include/vmscope/qobject.h lib/qobject.c \
	lib/include/vmscope/visitor.h lib/visitor-impl.h lib/visitor.c \
	lib/include/vmscope/qobject-visitor.h lib/qobject-output-visitor.c \
	lib/include/vmscope/bytes.h lib/bytes.c
