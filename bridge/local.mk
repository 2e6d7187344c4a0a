# bridge/: protocols.  libvmsbridge: QMP (dispatcher, wire codec, server,
# client); libvmshttp: the HTTP/JSON bridge on libmicrohttpd (API, event
# stream, /metrics, the dashboard's files).  Include them as
# "bridge/qmp-dispatch.h" (the top source dir is on the include path).
noinst_LTLIBRARIES += bridge/libvmsbridge.la bridge/libvmshttp.la
bridge_libvmsbridge_la_SOURCES = \
	bridge/qmp-dispatch.h bridge/qmp-dispatch.c \
	bridge/qmp-json.h bridge/qmp-json.c \
	bridge/qmp-server.h bridge/qmp-server.c \
	bridge/qmp-client.h bridge/qmp-client.c
BRIDGE_LIBS = bridge/libvmsbridge.la $(VMS_LIBS)

bridge_libvmshttp_la_SOURCES = \
	bridge/http-server.h bridge/http-impl.h \
	bridge/http-server.c bridge/http-target.c bridge/http-events.c \
	bridge/http-metrics.c bridge/http-static.c
bridge_libvmshttp_la_CPPFLAGS = $(AM_CPPFLAGS) $(MHD_CFLAGS) \
	$(VMS_DASHBOARD_CPPFLAGS) -DVMS_BINDIR='"$(bindir)"'
HTTP_LIBS = bridge/libvmshttp.la $(BRIDGE_LIBS) $(MHD_LIBS)
