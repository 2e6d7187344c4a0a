# qidl/: the QIDL generator (docs/qidl.md), a build tool: it reads annotated C
# with libclang and writes VMState descriptions that devices/ #includes.
# Built without the sanitizers: it runs during the build, inside libclang.
noinst_PROGRAMS += qidl/qidl
qidl_qidl_SOURCES = qidl/qidl.c qidl/qidl.h
qidl_qidl_CPPFLAGS = $(AM_CPPFLAGS) $(CLANG_CFLAGS)
qidl_qidl_CFLAGS = $(WARN_CFLAGS)
qidl_qidl_LDFLAGS =
qidl_qidl_LDADD = $(CLANG_LIBS) $(GLIB_LIBS)

# How a file is generated: the compiler's own preprocessor flags, so that
# libclang reads the file as the compiler does (config.h, glib, vmscope/).
QIDL = $(top_builddir)/qidl/qidl$(EXEEXT)
QIDL_CPPFLAGS = $(DEFS) $(DEFAULT_INCLUDES) $(INCLUDES) $(AM_CPPFLAGS) $(CPPFLAGS)
QIDL_V_GEN = $(am__v_QIDL_$(V))
am__v_QIDL_ = $(am__v_QIDL_$(AM_DEFAULT_VERBOSITY))
am__v_QIDL_0 = @echo "  QIDL    " $@;
am__v_QIDL_1 =

# The JSON Schema and the -dump-vmstate description of every device type, from
# the generated descriptions (qidl-describe links the devices): devices/qidl/.
noinst_PROGRAMS += qidl/qidl-describe
qidl_qidl_describe_SOURCES = qidl/qidl-describe.c
qidl_qidl_describe_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/devices
qidl_qidl_describe_LDADD = devices/libvmsdevices.la $(VMS_LIBS)
noinst_DATA += devices/qidl/descriptions.stamp
devices/qidl/descriptions.stamp: qidl/qidl-describe$(EXEEXT)
	@$(MKDIR_P) devices/qidl
	$(QIDL_V_GEN)./qidl/qidl-describe devices/qidl && touch $@
CLEANFILES += devices/qidl/descriptions.stamp devices/qidl/*.schema.json devices/qidl/*.vmstate.json
