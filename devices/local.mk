# devices/: reference device models (libvmsdevices, also linked by tests and
# benchmarks) and vmscope-devhost: the host (devhost.c), its QMP monitor
# (devhost-qmp.c) and migration (migration*.c) in libvmsdevhost.
noinst_LTLIBRARIES += devices/libvmsdevices.la devices/libvmsdevhost.la
devices_libvmsdevices_la_SOURCES = \
	devices/devices.h devices/registry.c \
	devices/rtc.c devices/serial.c devices/pit.c devices/virtio-blk.c \
	devices/apic.c devices/slirp.c

devices_libvmsdevhost_la_SOURCES = \
	devices/devhost.h devices/devhost.c \
	devices/devhost-qmp.h devices/devhost-qmp.c \
	devices/migration.h devices/migration.c devices/migration-stream.c
DEVHOST_LIBS = devices/libvmsdevhost.la devices/libvmsdevices.la $(BRIDGE_LIBS)

bin_PROGRAMS += devices/vmscope-devhost
devices_vmscope_devhost_SOURCES = devices/vmscope-devhost.c
devices_vmscope_devhost_LDADD = $(DEVHOST_LIBS)

# The models' descriptions are generated from their annotated structs
# (docs/qidl.md): devices/NAME.qidl.h from devices/NAME.c, in the build tree.
QIDL_DEVICES = rtc serial pit virtio-blk apic slirp
QIDL_GENERATED = $(QIDL_DEVICES:%=devices/%.qidl.h)
BUILT_SOURCES += $(QIDL_GENERATED)
# Also for targets that do not build BUILT_SOURCES first (make fuzz, one test).
$(QIDL_DEVICES:%=devices/%.lo): devices/%.lo: devices/%.qidl.h
CLEANFILES += $(QIDL_GENERATED)
devices/%.qidl.h: $(srcdir)/devices/%.c $(srcdir)/qidl/qidl.h $(QIDL)
	@$(MKDIR_P) devices
	$(QIDL_V_GEN)$(QIDL) -o $@ $(srcdir)/devices/$*.c -- $(QIDL_CPPFLAGS)
