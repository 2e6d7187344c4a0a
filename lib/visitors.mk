# Foundation visitors: QObject input and pretty-print output, and their
# tests (the QObject visitors' test program is registered in
# tests/unit/local.mk already).
lib_libvmscope_la_SOURCES += \
	lib/qobject-input-visitor.c
