# lib/shm: shared-memory segments (layout, writer, read-only reader).
noinst_LTLIBRARIES += lib/shm/libshm.la
lib_shm_libshm_la_SOURCES = \
	lib/include/vmscope/shm-segment.h lib/shm/shm-segment-impl.h \
	lib/shm/shm-segment.c lib/shm/shm-writer.c lib/shm/shm-reader.c
vmscopeinclude_HEADERS += lib/include/vmscope/shm-segment.h
