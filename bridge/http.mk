# bridge/: the HTTP/JSON bridge (libmicrohttpd): the API, the event stream,
# /metrics and the dashboard's files.  Programs that serve HTTP:
# foo_LDADD = $(HTTP_LIBS) and include "bridge/http-server.h".
noinst_LTLIBRARIES += bridge/libvmshttp.la
bridge_libvmshttp_la_SOURCES = \
	bridge/http-server.h bridge/http-impl.h \
	bridge/http-server.c bridge/http-events.c \
	bridge/http-metrics.c bridge/http-static.c
bridge_libvmshttp_la_CPPFLAGS = $(AM_CPPFLAGS) $(MHD_CFLAGS) \
	$(VMS_DASHBOARD_CPPFLAGS) -DVMS_BINDIR='"$(bindir)"'
HTTP_LIBS = bridge/libvmshttp.la $(BRIDGE_LIBS) $(MHD_LIBS)

# Integration tests over real sockets against http-test-server (fixed data
# on a real dispatcher); the Prometheus scrape is slow (starts Prometheus).
check_PROGRAMS += tests/integration/http-test-server \
	tests/integration/test-http-server
TESTS += tests/integration/test-http-server

tests_integration_http_test_server_SOURCES = tests/integration/http-test-server.c \
	tests/integration/test-server-loop.h
tests_integration_http_test_server_LDADD = $(HTTP_LIBS)
tests_integration_test_http_server_SOURCES = tests/integration/test-http-server.c \
	tests/integration/http-test-util.h
tests_integration_test_http_server_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_integration_test_http_server_LDADD = $(HTTP_LIBS) $(CUNIT_LIBS)

check_PROGRAMS += tests/integration/test-http-prometheus
TESTS += tests/integration/test-http-prometheus
SLOW_TESTS += tests/integration/test-http-prometheus
tests_integration_test_http_prometheus_SOURCES = tests/integration/test-http-prometheus.c \
	tests/integration/http-test-util.h
tests_integration_test_http_prometheus_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_integration_test_http_prometheus_LDADD = $(VMS_LIBS) $(CUNIT_LIBS)

# Benchmark: requests/s and latency with wrk, SSE fan-out (make bench).
EXTRA_PROGRAMS += tests/bench/bench-http
BENCHES += tests/bench/bench-http
CLEANFILES += tests/bench/bench-http$(EXEEXT)
tests_bench_bench_http_SOURCES = tests/bench/bench-http.c
tests_bench_bench_http_LDADD = $(HTTP_LIBS)

# The agent's HTTP API against its QMP twin on a live device host (skips
# until vmscope-agent and vmscope-devhost are built).
check_PROGRAMS += tests/integration/test-agent-http
TESTS += tests/integration/test-agent-http
tests_integration_test_agent_http_SOURCES = tests/integration/test-agent-http.c \
	tests/integration/http-test-util.h
tests_integration_test_agent_http_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_integration_test_agent_http_LDADD = $(BRIDGE_LIBS) $(CUNIT_LIBS)

# vmscope-agent serves HTTP (agent/vmscope-agent.c, "HTTP bridge starts
# here"); this fragment is included after agent/local.mk.
agent_vmscope_agent_LDADD += $(HTTP_LIBS)
