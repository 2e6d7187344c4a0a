# agent/: vmscope-agent.  The logic is a convenience library (registry,
# snapshots, commands, QEMU hosts) that the program, tests and benchmarks link.
noinst_LTLIBRARIES += agent/libvmsagent.la
agent_libvmsagent_la_SOURCES = \
	agent/snapshot.h agent/snapshot.c \
	agent/registry.h agent/registry.c \
	agent/qemu-host.h agent/qemu-host.c \
	agent/commands.h agent/commands.c
AGENT_LIBS = agent/libvmsagent.la $(BRIDGE_LIBS)

bin_PROGRAMS += agent/vmscope-agent
agent_vmscope_agent_SOURCES = agent/vmscope-agent.c
agent_vmscope_agent_LDADD = agent/libvmsagent.la $(HTTP_LIBS)
