# prometheus/: alerting rules and a Grafana dashboard for the agent's
# /metrics, installed in $(pkgdatadir)/prometheus (docs/prometheus.md); the
# rules' unit tests run in tests/install/test-prometheus.sh.
prometheusdir = $(pkgdatadir)/prometheus
dist_prometheus_DATA = prometheus/vmscope.rules.yml prometheus/vmscope-grafana.json
EXTRA_DIST += prometheus/vmscope.rules.test.yml
