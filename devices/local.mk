# Reference device models (a convenience library for vmscope-devhost and tests).
noinst_LTLIBRARIES += devices/libvmsdevices.la
devices_libvmsdevices_la_SOURCES = \
	devices/devices.h devices/registry.c \
	devices/rtc.c devices/serial.c devices/pit.c devices/virtio-blk.c \
	devices/apic.c devices/slirp.c
devices_libvmsdevices_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/devices

check_PROGRAMS += tests/unit/test-devices
TESTS += tests/unit/test-devices
tests_unit_test_devices_SOURCES = tests/unit/test-devices.c
tests_unit_test_devices_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/devices
tests_unit_test_devices_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_devices_LDADD = devices/libvmsdevices.la $(UNIT_LDADD)
