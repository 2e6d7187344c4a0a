# lib/vmstate: the VMState engine (one walk), the field types, descriptions as data.
noinst_LTLIBRARIES += lib/vmstate/libvmstate.la
lib_vmstate_libvmstate_la_SOURCES = \
	lib/include/vmscope/vmstate.h lib/vmstate/vmstate-impl.h \
	lib/vmstate/vmstate.c lib/vmstate/vmstate-types.c lib/vmstate/vmstate-desc.c \
	lib/vmstate/vmstate-schema.c lib/vmstate/vmstate-dump.c
vmscopeinclude_HEADERS += lib/include/vmscope/vmstate.h
