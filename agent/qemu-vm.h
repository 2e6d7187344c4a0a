/*
 * The agent's own QMP monitor of one QEMU, and the three things it does
 * there besides asking for the run state: device-state saves, the one-time
 * learning migration, and putting a VM back after a learning migration
 * that was cut short.
 *
 * Saves.  `xen-save-devices-state {"filename": "/dev/fdset/N", "live":
 * false}` writes every device section (no RAM, no configuration, no
 * vmdesc) into a memfd of the agent's, handed to QEMU once per connection
 * with `add-fd` (SCM_RIGHTS on this monitor).  QEMU wants the descriptor
 * write-only (a memfd is read-write: it is reopened through /proc/self/fd
 * with O_WRONLY) and dups it, so the file offset is shared and O_TRUNC is
 * not applied: the agent rewinds before each save (the file keeps its
 * pages: none are faulted in while the VM is stopped), takes the offset
 * after it as the save's end, and reads the bytes back from its own
 * descriptor.  QEMU stops a running VM for the
 * save and resumes it (STOP and RESUME events, whose timestamps give the
 * pause); a paused VM stays paused; `"live": false` keeps the disks active.
 * Before every save `query-migrate` must show no `blocked-reasons` (QEMU
 * 7.2 crashes saving a VM with a migration blocker, nvme for one) and no
 * migration in progress.
 *
 * Learning.  The stream of a save has no vmdesc.  A migration of the same
 * VM has one: with the capability x-ignore-shared set, RAM that is shared
 * (a memory-backend with share=on) is not sent, so a migration into the
 * agent (`getfd` of a pipe, `migrate fd:NAME`) costs milliseconds of
 * downtime; the source ends in postmigrate and `cont` resumes it; the
 * capability is set back.  Only a running VM is migrated: a paused one
 * would come back running (or stay in postmigrate with its disks
 * inactive).  The record of a learning migration (QemuLearn) is the
 * caller's: while `active`, the VM may be in postmigrate with the
 * capability changed, and qemu_vm_learn_recover() puts it back as it was.
 *
 * A QemuVm is not thread-safe: one user at a time.
 */
#ifndef VMSCOPE_AGENT_QEMU_VM_H
#define VMSCOPE_AGENT_QEMU_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vmscope/qobject.h"

typedef struct QemuVm QemuVm;

/* Connect and negotiate; every command then waits at most timeout_ms. */
QemuVm *qemu_vm_connect(const char *address, int timeout_ms, GError **errp);
void qemu_vm_free(QemuVm *vm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuVm, qemu_vm_free)

typedef struct QemuVmStatus {
    char *status;                  /* query-status: "running", "paused", ... */
    char *migration;               /* query-migrate's status, "none" when it never migrated */
    char *blocked;                 /* the blocked-reasons joined with "; ", or NULL */
} QemuVmStatus;
void qemu_vm_status_clear(QemuVmStatus *st);

bool qemu_vm_status(QemuVm *vm, QemuVmStatus *out, GError **errp);
/* Is the machine's RAM a memory-backend with share=on (what x-ignore-shared skips)? */
bool qemu_vm_ram_shared(QemuVm *vm, bool *shared, GError **errp);

typedef struct QemuVmSave {
    GBytes *bytes;                 /* the stream QEMU wrote */
    int64_t pause_us;              /* RESUME - STOP, QEMU's timestamps; -1: not stopped */
    int64_t total_us;              /* the whole save, as the agent saw it */
} QemuVmSave;
/*
 * One save (see above).  Fails without saving when migration is blocked
 * ("migration is blocked: REASONS") or a migration is in progress.
 */
bool qemu_vm_save(QemuVm *vm, QemuVmSave *out, GError **errp);

typedef struct QemuLearn {
    bool active;                   /* a learning migration started and is not undone */
    bool was_running;
    bool had_ignore_shared;        /* the capability before */
} QemuLearn;
/*
 * Migrate the running VM into the agent and return the stream (with its
 * vmdesc); `stop` is looked at while reading (true: give up).  On any
 * failure the VM is put back (as qemu_vm_learn_recover) when that can be
 * done on this connection; otherwise rec stays active for later.
 */
GBytes *qemu_vm_learn(QemuVm *vm, QemuLearn *rec, const gint *stop, GError **errp);
/* Undo what rec says is left of a learning migration; rec inactive on success. */
bool qemu_vm_learn_recover(QemuVm *vm, QemuLearn *rec, GError **errp);

#endif
