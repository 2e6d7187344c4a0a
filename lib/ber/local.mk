# lib/ber: vmscope's self-describing encoding (docs/ber.md): writing and
# reading BER elements with libtasn1, descriptions rebuilt from a value,
# BER migration streams.  The visitors are in lib/visitors/.
noinst_LTLIBRARIES += lib/ber/libber.la
lib_ber_libber_la_SOURCES = \
	lib/include/vmscope/ber.h lib/ber/ber-writer.c lib/ber/ber-reader.c \
	lib/include/vmscope/ber-stream.h lib/ber/ber-stream.c lib/ber/ber-describe.c \
	lib/ber/ber-replay.c
vmscopeinclude_HEADERS += lib/include/vmscope/ber.h lib/include/vmscope/ber-stream.h
