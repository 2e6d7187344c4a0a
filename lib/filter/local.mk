# lib/filter: tree filters (docs/filters.md): rule files checked at load,
# applied to decoded device state between the input and the output visitor.
noinst_LTLIBRARIES += lib/filter/libfilter.la
lib_filter_libfilter_la_SOURCES = \
	lib/include/vmscope/filter.h lib/filter/filter-impl.h \
	lib/filter/filter-rules.c lib/filter/filter-apply.c lib/filter/filter-stream.c
vmscopeinclude_HEADERS += lib/include/vmscope/filter.h
