# lib/core: errors, QObject (json-c), bytes (bounded reader/writer, hex), the
# format table, socket addresses and the sockets on them, command lines.
noinst_LTLIBRARIES += lib/core/libcore.la
lib_core_libcore_la_SOURCES = \
	lib/include/vmscope/error.h lib/core/error.c \
	lib/include/vmscope/qobject.h lib/core/qobject.c lib/core/qobject-diff.c \
	lib/include/vmscope/bytes.h lib/core/bytes.c \
	lib/include/vmscope/format.h lib/core/format.c \
	lib/include/vmscope/address.h lib/core/address.c \
	lib/include/vmscope/cmdline.h lib/core/cmdline.c
vmscopeinclude_HEADERS += \
	lib/include/vmscope/error.h lib/include/vmscope/qobject.h lib/include/vmscope/bytes.h \
	lib/include/vmscope/format.h lib/include/vmscope/address.h lib/include/vmscope/cmdline.h
