# agent/: vmscope-agent.  The logic is a convenience library (registry,
# snapshots, commands, QEMU hosts) that the program, tests and benchmarks link.
noinst_LTLIBRARIES += agent/libvmsagent.la
agent_libvmsagent_la_SOURCES = \
	agent/snapshot.h agent/snapshot.c \
	agent/registry.h agent/registry.c \
	agent/qemu-host.h agent/qemu-host.c agent/qemu-vm.h agent/qemu-vm.c \
	agent/qemu-dir.h agent/qemu-dir.c \
	agent/commands.h agent/commands.c
AGENT_LIBS = agent/libvmsagent.la $(BRIDGE_LIBS)

bin_PROGRAMS += agent/vmscope-agent
# Socket activation (activation.c) is the program's alone: only it links libsystemd.
agent_vmscope_agent_SOURCES = agent/vmscope-agent.c agent/activation.h agent/activation.c
agent_vmscope_agent_CPPFLAGS = $(AM_CPPFLAGS) $(SYSTEMD_CFLAGS)
agent_vmscope_agent_LDADD = agent/libvmsagent.la $(HTTP_LIBS) $(SYSTEMD_LIBS)
