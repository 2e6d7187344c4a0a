# vmscope-view: the command-line viewer (thin: flags + library modules).
bin_PROGRAMS += viewers/vmscope-view
viewers_vmscope_view_SOURCES = viewers/vmscope-view.c \
	viewers/view-state.c viewers/view-state.h \
	viewers/view-migrate.c viewers/view-migrate.h \
	viewers/view-compat.c viewers/view-compat.h \
	viewers/view-filter.c viewers/view-filter.h
viewers_vmscope_view_LDADD = $(BRIDGE_LIBS)
