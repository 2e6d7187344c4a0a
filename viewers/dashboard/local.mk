# The dashboard: static files that vmscope-agent serves at "/" (see
# docs/dashboard.md), and its browser end-to-end test.

# Installed into $(pkgdatadir)/dashboard and shipped in the tarball.
dashboarddir = $(pkgdatadir)/dashboard
dist_dashboard_DATA = \
	viewers/dashboard/index.html \
	viewers/dashboard/style.css \
	viewers/dashboard/app.js \
	viewers/dashboard/api.js \
	viewers/dashboard/dom.js \
	viewers/dashboard/state.js \
	viewers/dashboard/tree.js \
	viewers/dashboard/views.js

# Where the agent finds the files: add $(VMS_DASHBOARD_CPPFLAGS) to its
# CPPFLAGS.  VMS_DASHBOARD_DIR is the installed copy; VMS_DASHBOARD_SRCDIR is
# the source tree, for runs from the build tree before `make install`; the
# environment variable VMSCOPE_DASHBOARD_DIR overrides both (tests set it).
VMS_DASHBOARD_CPPFLAGS = \
	-DVMS_DASHBOARD_DIR='"$(dashboarddir)"' \
	-DVMS_DASHBOARD_SRCDIR='"$(abs_top_srcdir)/viewers/dashboard"'
