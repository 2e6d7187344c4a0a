# bash completion: one script for the four programs, installed under each
# program's name (bash-completion loads completions/NAME on first use).
COMPLETION_NAMES = vmscope-agent vmscope-devhost vmscope-view vmscope-trace
EXTRA_DIST += completion/vmscope.bash

install-data-local: install-completion
install-completion:
	$(MKDIR_P) $(DESTDIR)$(bashcompletiondir)
	$(INSTALL_DATA) $(srcdir)/completion/vmscope.bash $(DESTDIR)$(bashcompletiondir)/vmscope-agent
	for n in $(filter-out vmscope-agent,$(COMPLETION_NAMES)); do \
	  rm -f $(DESTDIR)$(bashcompletiondir)/$$n && \
	  $(LN_S) vmscope-agent $(DESTDIR)$(bashcompletiondir)/$$n || exit 1; \
	done
uninstall-local: uninstall-completion
uninstall-completion:
	for n in $(COMPLETION_NAMES); do rm -f $(DESTDIR)$(bashcompletiondir)/$$n; done
.PHONY: install-completion uninstall-completion
