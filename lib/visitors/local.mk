# lib/visitors: the Visitor core and one file per visitor.
noinst_LTLIBRARIES += lib/visitors/libvisitors.la
lib_visitors_libvisitors_la_SOURCES = \
	lib/include/vmscope/visitor.h lib/visitors/visitor-impl.h lib/visitors/visitor.c \
	lib/include/vmscope/qobject-visitor.h \
	lib/visitors/qobject-output-visitor.c lib/visitors/qobject-input-visitor.c \
	lib/visitors/qobject-walk.c \
	lib/include/vmscope/pretty-visitor.h lib/visitors/pretty-visitor.c \
	lib/include/vmscope/string-visitor.h lib/visitors/string-input-visitor.c \
	lib/include/vmscope/qemufile-visitor.h \
	lib/visitors/qemufile-output-visitor.c lib/visitors/qemufile-input-visitor.c \
	lib/include/vmscope/ber-visitor.h \
	lib/visitors/ber-output-visitor.c lib/visitors/ber-input-visitor.c \
	lib/include/vmscope/json-schema-visitor.h lib/visitors/json-schema-output-visitor.c
vmscopeinclude_HEADERS += \
	lib/include/vmscope/visitor.h lib/include/vmscope/qobject-visitor.h \
	lib/include/vmscope/pretty-visitor.h lib/include/vmscope/qemufile-visitor.h \
	lib/include/vmscope/string-visitor.h lib/include/vmscope/ber-visitor.h \
	lib/include/vmscope/json-schema-visitor.h
