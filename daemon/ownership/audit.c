/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
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
#define FIELD_MAX   160
#define N_FIELDS    13
#define MESSAGE_MAX 512

/* The entry in the journal's native protocol, "KEY=value\n" per field, built in place: no
 * printf, which cost more than the rest of a grant's bookkeeping. The text of MESSAGE= is built
 * beside it and goes last. Newlines would end a field early: they become spaces. */
typedef struct entry {
        char buf[N_FIELDS * FIELD_MAX + MESSAGE_MAX + 16];
        size_t len;
        char message[MESSAGE_MAX];
        size_t message_len;
} entry;

/* Appends s (n bytes) to buf, which holds *len of at most max - 1 bytes, as far as it fits. */
static void append(char *buf, size_t *len, size_t max, const char *s, size_t n)
{
        char *p = buf + *len, *end;

        n = MIN(n, max - 1 - *len);
        memcpy(p, s, n);
        for (end = p + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
                *p = ' ';
        *len += n;
}

static const char *format_number(long long v, char buf[static 24])
{
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
        char *p = buf + 23;

        *p = 0;
        do
                *--p = (char)('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
                *--p = '-';
        return p;
}

/* KEY=value, at most FIELD_MAX - 1 bytes of it; " short_key=value" added to the message. */
static void field(entry *e, const char *key, const char *short_key, const char *value)
{
        size_t start = e->len, max = start + FIELD_MAX;

        append(e->buf, &e->len, max, key, strlen(key));
        append(e->buf, &e->len, max, "=", 1);
        append(e->buf, &e->len, max, value, strlen(value));
        e->buf[e->len++] = '\n';
        if (short_key) {
                append(e->message, &e->message_len, sizeof(e->message), " ", 1);
                append(e->message, &e->message_len, sizeof(e->message), short_key,
                       strlen(short_key));
                append(e->message, &e->message_len, sizeof(e->message), "=", 1);
                append(e->message, &e->message_len, sizeof(e->message), value, strlen(value));
        }
}

static void string_field(entry *e, const char *key, const char *short_key, const char *v)
{
        if (v)
                field(e, key, short_key, v);
}

static void number_field(entry *e, const char *key, const char *short_key, long long id)
{
        char buf[24];

        if (id > 0)
                field(e, key, short_key, format_number(id - 1, buf));
}

/* One socket for the daemon's life, opened at start-up (audit_open): an fd that appeared at the
 * first entry would look like a leak to whoever counts them. Unconnected, each entry addressed:
 * a journald that restarts is found again at the next one. */
static int journal_fd = -EBADF;
static struct sockaddr_un journal_address = { .sun_family = AF_UNIX,
                                              .sun_path = "/run/systemd/journal/socket" };

int audit_open(const char *path)
{
        if (journal_fd >= 0)
                return 0;
        if (path) {
                if (strlen(path) >= sizeof(journal_address.sun_path))
                        return -ENAMETOOLONG;
                strcpy(journal_address.sun_path, path);
        }
        journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        return journal_fd < 0 ? -errno : 0;
}

void audit_close(void)
{
        if (journal_fd >= 0)
                close(journal_fd);
        journal_fd = -EBADF;
}

/* A datagram each: without audit_open() on a socket of its own, closed again. */
static void journal_send(const char *buf, size_t len)
{
        int fd = journal_fd;

        if (fd < 0)
                fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return;
        (void)sendto(fd, buf, len, MSG_NOSIGNAL, (const struct sockaddr *)&journal_address,
                     sizeof(journal_address));
        if (fd != journal_fd)
                close(fd);
}

void audit_send(audit_kind kind, int priority, const audit_fields *f, const char *what)
{
        /* Large for a stack frame, and only ever used from the event loop's thread. */
        static entry e;
        char number[24];

        if (!audit_message_id(kind))
                return;
        e.len = e.message_len = 0;
        append(e.message, &e.message_len, sizeof(e.message), "AUDIT ", 6);
        append(e.message, &e.message_len, sizeof(e.message), what, strlen(what));
        field(&e, "MESSAGE_ID", NULL, message_ids[kind]);
        field(&e, "PRIORITY", NULL, format_number(priority, number));
        field(&e, "SYSLOG_IDENTIFIER", NULL, "ioasidd");
        field(&e, "IOASID_EVENT", NULL, kind_names[kind]);
        string_field(&e, "IOASID_LEASE", "lease", f->lease);
        string_field(&e, "IOASID_DEVICE", "device", f->device);
        string_field(&e, "IOASID_DRIVER", "driver", f->driver);
        string_field(&e, "IOASID_ERROR", "error", f->error);
        number_field(&e, "IOASID_GROUP", "group", f->group);
        number_field(&e, "IOASID_UID", "uid", f->uid);
        number_field(&e, "IOASID_BY_UID", "by_uid", f->by_uid);
        number_field(&e, "IOASID_PID", "pid", f->pid);
        /* MESSAGE= and up to MESSAGE_MAX - 1 bytes of text. */
        append(e.buf, &e.len, sizeof(e.buf) - 1, "MESSAGE=", 8);
        append(e.buf, &e.len, sizeof(e.buf) - 1, e.message, e.message_len);
        e.buf[e.len++] = '\n';
        journal_send(e.buf, e.len);
}
