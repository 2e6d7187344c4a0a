# lib/core: errors, QObject (json-c), bytes (bounded reader/writer, hex), the
# format table.
noinst_LTLIBRARIES += lib/core/libcore.la
lib_core_libcore_la_SOURCES = \
	lib/include/vmscope/error.h lib/core/error.c \
	lib/include/vmscope/qobject.h lib/core/qobject.c lib/core/qobject-diff.c \
	lib/include/vmscope/bytes.h lib/core/bytes.c \
	lib/include/vmscope/format.h lib/core/format.c
