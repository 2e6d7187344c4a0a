# systemd: the agent's socket and service, a device-host template and the
# tmpfiles snippet that makes /run/vmscope/qemu (docs/systemd.md explains
# every directive).  Units that name a program are made from UNIT.in with
# its installed path.
dist_systemdsystemunit_DATA = systemd/vmscope-agent.socket
nodist_systemdsystemunit_DATA = systemd/vmscope-agent.service systemd/vmscope-devhost@.service
dist_tmpfiles_DATA = systemd/vmscope.conf
EXTRA_DIST += systemd/vmscope-agent.service.in systemd/vmscope-devhost@.service.in
CLEANFILES += systemd/vmscope-agent.service systemd/vmscope-devhost@.service

systemd/%.service: $(srcdir)/systemd/%.service.in Makefile
	@$(MKDIR_P) systemd
	$(AM_V_GEN)sed 's|[@]bindir[@]|$(bindir)|g' $< > $@.tmp && mv $@.tmp $@
