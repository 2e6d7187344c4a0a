# VMState engine, descriptions as data, QEMUFile visitors (h-vmstate).
lib_libvmscope_la_SOURCES += \
	lib/include/vmscope/vmstate.h lib/vmstate.c lib/vmstate-desc.c \
	lib/include/vmscope/qemufile-visitor.h \
	lib/qemufile-output-visitor.c lib/qemufile-input-visitor.c
