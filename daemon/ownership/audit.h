/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The audit trail: every grant, release, revoke, bind and refusal as one structured journal
 * entry, found by its MESSAGE_ID (systemd/ioasid.catalog documents them) and by IOASID_* fields:
 *
 *   journalctl MESSAGE_ID=<id of grants> IOASID_UID=1000
 *
 * Sent to the journal only: the daemon's text log says the same thing for those who read it
 * elsewhere. Without a journal (tests, a minimal init) the entry is dropped without a word. */

#include <sys/types.h>

typedef enum audit_kind {
        AUDIT_GRANT,      /* a lease got devices */
        AUDIT_RELEASE,    /* a lease ended (release, holder exit, revoke, removal) */
        AUDIT_REVOKE,     /* an admin revoked a lease; each step of it */
        AUDIT_BIND,       /* a device was bound to or unbound from a driver by the daemon */
        AUDIT_REFUSE,     /* a call was refused */
        AUDIT_COMPROMISE, /* a host driver was bound into a leased group */
        _AUDIT_KIND_MAX,
} audit_kind;

/* What an entry names; NULL strings are left out, and so are numbers left 0: set them with
 * AUDIT_ID(), so that uid 0 and group 0 are told from "not given". */
typedef struct audit_fields {
        const char *lease;
        const char *device;
        const char *driver;
        const char *error; /* refusals: the error sent to the caller */
        long long group;
        long long uid;    /* the lease's or caller's uid */
        long long by_uid; /* revoke: the admin */
        long long pid;    /* the holder or caller */
} audit_fields;

#define AUDIT_ID(n) ((long long)(n) + 1)

const char *audit_message_id(audit_kind kind);

/* Entries go out over one socket from now on, to the journal (path NULL) or to path (tests):
 * called at start-up, before anything is counted. Without it, each entry opens a socket of its
 * own and closes it again. */
int audit_open(const char *path);
void audit_close(void);

/* MESSAGE= is "AUDIT <what>" followed by the fields; priority is a syslog level. */
void audit_send(audit_kind kind, int priority, const audit_fields *f, const char *what);

/* One line at a log point:
 *   audit(AUDIT_GRANT, LOG_INFO, "grant", .lease = id, .uid = AUDIT_ID(uid)); */
#define audit(kind, priority, what, ...)                                                           \
        audit_send((kind), (priority), &(const audit_fields){ __VA_ARGS__ }, (what))
