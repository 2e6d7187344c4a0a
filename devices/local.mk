# Reference device models (a convenience library for vmscope-devhost and tests).
noinst_LTLIBRARIES += devices/libvmsdevices.la
devices_libvmsdevices_la_SOURCES = \
	devices/devices.h devices/registry.c \
	devices/rtc.c devices/serial.c devices/pit.c devices/virtio-blk.c \
	devices/apic.c devices/slirp.c
