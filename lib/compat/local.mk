# lib/compat: migration compatibility: descriptions from QEMU dumps, streams
# and vmscope in one form, compared (compat) and replayed (explain).
noinst_LTLIBRARIES += lib/compat/libcompat.la
lib_compat_libcompat_la_SOURCES = \
	lib/include/vmscope/compat.h lib/compat/compat-impl.h \
	lib/compat/compat-set.c lib/compat/compat-compare.c lib/compat/compat-explain.c
vmscopeinclude_HEADERS += lib/include/vmscope/compat.h
