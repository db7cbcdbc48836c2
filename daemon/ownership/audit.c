/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "macro.h"

/* Stable: admins filter on them, and systemd/ioasid.catalog explains each. */
static const char *const message_ids[_AUDIT_KIND_MAX] = {
        [AUDIT_GRANT] = "420c50e4ec274e69a3991a54062474fa",
        [AUDIT_RELEASE] = "cb7a7acd688b456e89830a396e2866b7",
        [AUDIT_REVOKE] = "d46705511bfa42d4b719de4c69b5cc57",
        [AUDIT_BIND] = "76947af0b0014e74bbfd633f66c24982",
        [AUDIT_REFUSE] = "dd62c30c2e384926a48233afb8f06ee1",
        [AUDIT_COMPROMISE] = "8f1876dde9794621bb66c072f467d3e8",
};

static const char *const kind_names[_AUDIT_KIND_MAX] = {
        [AUDIT_GRANT] = "grant", [AUDIT_RELEASE] = "release", [AUDIT_REVOKE] = "revoke",
        [AUDIT_BIND] = "bind",   [AUDIT_REFUSE] = "refuse",   [AUDIT_COMPROMISE] = "compromise",
};

const char *audit_message_id(audit_kind kind)
{
        return kind >= 0 && kind < _AUDIT_KIND_MAX ? message_ids[kind] : NULL;
}

/* Fields are short: a lease id, a PCI address, a driver or error name. Longer ones are cut
 * rather than dropped, and the entry is still sent. */
#define FIELD_MAX 160
#define N_FIELDS  13

typedef struct entry {
        char buf[N_FIELDS][FIELD_MAX];
        struct iovec iov[N_FIELDS];
        size_t n;
        char message[512];
        size_t message_len;
} entry;

static void field(entry *e, const char *key, const char *fmt_value, const char *svalue,
                  long long nvalue)
{
        int k;

        if (e->n >= N_FIELDS)
                return;
        k = svalue ? snprintf(e->buf[e->n], FIELD_MAX, "%s=%s", key, svalue)
                   : snprintf(e->buf[e->n], FIELD_MAX, "%s=%lld", key, nvalue);
        if (k < 0)
                return;
        e->iov[e->n] = (struct iovec){ e->buf[e->n], MIN((size_t)k, (size_t)FIELD_MAX - 1) };
        e->n++;
        if (fmt_value && e->message_len < sizeof(e->message)) {
                k = svalue ? snprintf(e->message + e->message_len,
                                      sizeof(e->message) - e->message_len, " %s=%s", fmt_value,
                                      svalue)
                           : snprintf(e->message + e->message_len,
                                      sizeof(e->message) - e->message_len, " %s=%lld", fmt_value,
                                      nvalue);
                if (k > 0)
                        e->message_len = MIN(e->message_len + (size_t)k, sizeof(e->message) - 1);
        }
}

static void string_field(entry *e, const char *key, const char *short_key, const char *v)
{
        if (v)
                field(e, key, short_key, v, 0);
}

static void number_field(entry *e, const char *key, const char *short_key, long long id)
{
        if (id > 0)
                field(e, key, short_key, NULL, id - 1);
}

/* The journal's native protocol, one datagram per entry, on a socket of its own that is closed
 * again: sd_journal_send() would keep one open for the rest of the daemon's life, an fd that
 * appears at the first entry. Newlines would end a field early: they become spaces. */
static void journal_send(const struct iovec *iov, size_t n)
{
        static const struct sockaddr_un sa = { .sun_family = AF_UNIX,
                                               .sun_path = "/run/systemd/journal/socket" };
        char buf[N_FIELDS * (FIELD_MAX + 1) + sizeof(((entry *)NULL)->message) + 16];
        size_t len = 0;
        int fd;

        for (size_t i = 0; i < n && len + 1 < sizeof(buf); i++) {
                size_t k = MIN(iov[i].iov_len, sizeof(buf) - len - 1);

                memcpy(buf + len, iov[i].iov_base, k);
                for (size_t j = len; j < len + k; j++)
                        if (buf[j] == '\n')
                                buf[j] = ' ';
                len += k;
                buf[len++] = '\n';
        }
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return;
        (void)sendto(fd, buf, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, sizeof(sa));
        close(fd);
}

void audit_send(audit_kind kind, int priority, const audit_fields *f, const char *what)
{
        /* Large for a stack frame, and only ever used from the event loop's thread. */
        static entry e;
        char message[sizeof("MESSAGE=") + sizeof(e.message)];

        if (!audit_message_id(kind))
                return;
        e.n = 0;
        e.message_len = (size_t)snprintf(e.message, sizeof(e.message), "AUDIT %s", what);
        e.message_len = MIN(e.message_len, sizeof(e.message) - 1);
        field(&e, "MESSAGE_ID", NULL, message_ids[kind], 0);
        field(&e, "PRIORITY", NULL, NULL, priority);
        field(&e, "SYSLOG_IDENTIFIER", NULL, "ioasidd", 0);
        field(&e, "IOASID_EVENT", NULL, kind_names[kind], 0);
        string_field(&e, "IOASID_LEASE", "lease", f->lease);
        string_field(&e, "IOASID_DEVICE", "device", f->device);
        string_field(&e, "IOASID_DRIVER", "driver", f->driver);
        string_field(&e, "IOASID_ERROR", "error", f->error);
        number_field(&e, "IOASID_GROUP", "group", f->group);
        number_field(&e, "IOASID_UID", "uid", f->uid);
        number_field(&e, "IOASID_BY_UID", "by_uid", f->by_uid);
        number_field(&e, "IOASID_PID", "pid", f->pid);
        if (e.n >= N_FIELDS)
                return;
        snprintf(message, sizeof(message), "MESSAGE=%s", e.message);
        e.iov[e.n++] = (struct iovec){ message, strlen(message) };
        journal_send(e.iov, e.n);
}
