/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "json-strict.h"
#include "macro.h"
#include "wire.h"

struct wire_msg {
        wire_msg *next;
        size_t alloc; /* bytes of data[] */
        size_t size, offset;
        int *fds;
        size_t n_fds;
        char data[];
};

void wire_in_init(wire_in *in, size_t max_message)
{
        *in = (wire_in){ .max_message = max_message ?: WIRE_MESSAGE_SIZE_MAX };
}

void wire_in_done(wire_in *in)
{
        close_many(in->fds, in->n_fds);
        free(in->fds);
        free(in->buf);
        *in = (wire_in){ .max_message = in->max_message };
}

bool wire_in_has_message(wire_in *in)
{
        const char *nul;

        if (in->size == in->start)
                return false;
        nul = memchr(in->buf + in->start + in->scanned, 0, in->size - in->start - in->scanned);
        if (nul)
                return true;
        /* Remember how far we looked, so a message arriving in many small reads is scanned once. */
        in->scanned = in->size - in->start;
        return false;
}

/* An idle connection holds no buffer: a thousand of them would otherwise each keep the largest
 * message they ever sent. */
static void wire_in_release_if_empty(wire_in *in)
{
        if (in->size != in->start)
                return;
        in->buf = mfree(in->buf);
        in->start = in->size = in->alloc = in->scanned = 0;
}

static int wire_in_reserve(wire_in *in, size_t want)
{
        size_t pending = in->size - in->start;
        size_t need, n;
        char *b;

        /* Compact first: the consumed head is dead space. */
        if (in->start > 0) {
                memmove(in->buf, in->buf + in->start, pending);
                in->size = pending;
                in->start = 0;
        }
        need = pending + want;
        if (need <= in->alloc)
                return 0;
        n = MAX(need, MAX(in->alloc * 2, (size_t)WIRE_IN_CHUNK));
        /* One byte of slack past the limit is what tells an oversized message from a full one. */
        n = MIN(n, in->max_message + 1);
        if (n < need)
                return -EMSGSIZE;
        b = realloc(in->buf, n);
        if (!b)
                return -ENOMEM;
        in->buf = b;
        in->alloc = n;
        return 0;
}

/* After a large message: what is left (the start of the next one) moves to a buffer of its own
 * size, rather than a connection keeping the largest message it ever sent for as long as it
 * pipelines. */
static void wire_in_shrink(wire_in *in)
{
        size_t pending = in->size - in->start, n;
        char *b;

        if (in->alloc <= WIRE_IN_KEEP || pending > in->alloc / 4)
                return;
        memmove(in->buf, in->buf + in->start, pending);
        in->size = pending;
        in->start = 0;
        n = MAX(pending, (size_t)WIRE_IN_CHUNK);
        b = realloc(in->buf, n);
        if (!b)
                return; /* still valid, only larger than it needs to be */
        in->buf = b;
        in->alloc = n;
}

int wire_in_read(wire_in *in, int fd)
{
        union {
                struct cmsghdr hdr;
                char buf[CMSG_SPACE(sizeof(int) * WIRE_FDS_MAX)];
        } control;
        char spill[WIRE_IN_SPILL];
        struct iovec iov[2];
        struct msghdr mh = {
                .msg_iov = iov,
                .msg_iovlen = 2,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        bool at_message_start = in->size == in->start;
        size_t space, room, over;
        ssize_t n;
        int r;

        if (in->size - in->start >= in->max_message)
                return -EMSGSIZE;
        /* Most messages are small: the buffer starts below the size glibc serves from its
         * per-thread cache (a larger one makes every malloc() sweep the fast bins), and what a
         * read brings past it lands on the stack first, then the buffer grows to hold it. A
         * buffer is memory charged to the peer's uid for as long as it holds a partial
         * message. */
        r = wire_in_reserve(
                in, MIN((size_t)WIRE_IN_CHUNK, in->max_message + 1 - (in->size - in->start)));
        if (r < 0)
                return r;
        space = in->alloc - in->size;
        /* Never past the one byte of slack over the limit. */
        room = in->max_message + 1 - in->size;
        iov[0] = (struct iovec){ .iov_base = in->buf + in->size, .iov_len = space };
        iov[1] = (struct iovec){ .iov_base = spill, .iov_len = MIN(sizeof(spill), room - space) };

        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0) {
                r = errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : negative_errno();
                wire_in_release_if_empty(in);
                return r;
        }

        r = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                int *fds;
                size_t k;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                fds = (int *)(void *)CMSG_DATA(c);
                /* fds are only meaningful with the first byte of a message, and only one set
                 * per message: anything else is a peer we cannot make sense of. */
                if (!at_message_start || in->n_fds > 0 || n == 0 || r < 0) {
                        close_many(fds, k);
                        r = -EBADMSG;
                        continue;
                }
                in->fds = malloc(k * sizeof(int));
                if (!in->fds) {
                        close_many(fds, k);
                        r = -ENOMEM;
                        continue;
                }
                memcpy(in->fds, fds, k * sizeof(int));
                in->n_fds = k;
        }
        if (r < 0)
                return r;
        if (mh.msg_flags & MSG_CTRUNC)
                return -EBADMSG;

        over = (size_t)n > space ? (size_t)n - space : 0;
        in->size += (size_t)n - over;
        if (over > 0) {
                r = wire_in_reserve(in, over);
                if (r < 0)
                        return r;
                memcpy(in->buf + in->size, spill, over);
                in->size += over;
        }
        return (int)MIN(n, (ssize_t)INT32_MAX);
}

/* The next message, parsed as one value into *ret, or else member by member into cb. */
static int next(wire_in *in, json_object **ret, json_member_cb cb, void *userdata, int **ret_fds,
                size_t *ret_n_fds)
{
        json_object *v = NULL;
        const char *begin, *nul;
        size_t len;
        int r;

        if (in->size == in->start)
                return 0;
        begin = in->buf + in->start;
        nul = memchr(begin + in->scanned, 0, in->size - in->start - in->scanned);
        if (!nul) {
                in->scanned = in->size - in->start;
                return 0;
        }
        len = (size_t)(nul - begin);

        /* The default depth (32) is what sd-varlink and json-c agree on. Strict: a lenient
         * reader takes single quotes, comments and trailing commas that other peers refuse;
         * and a string that is not UTF-8 would make any reply echoing it invalid JSON. A
         * message is one value (null is none), only whitespace around it. */
        if (cb)
                r = json_parse_strict_members(begin, len, WIRE_JSON_DEPTH_MAX, cb, userdata);
        else {
                r = json_parse_strict(begin, len, WIRE_JSON_DEPTH_MAX, &v);
                if (r >= 0 && !v)
                        r = -EBADMSG;
        }

        in->start += len + 1;
        in->scanned = 0;
        wire_in_release_if_empty(in);
        wire_in_shrink(in);
        if (ret_fds) {
                *ret_fds = TAKE_PTR(in->fds);
                *ret_n_fds = in->n_fds;
        } else
                close_many(in->fds, in->n_fds);
        free(in->fds);
        in->fds = NULL;
        in->n_fds = 0;

        if (r < 0) {
                if (ret_fds) {
                        close_many(*ret_fds, *ret_n_fds);
                        free(*ret_fds);
                        *ret_fds = NULL;
                        *ret_n_fds = 0;
                }
                return r;
        }
        if (ret)
                *ret = v;
        return 1;
}

int wire_in_next(wire_in *in, json_object **ret, int **ret_fds, size_t *ret_n_fds)
{
        return next(in, ret, NULL, NULL, ret_fds, ret_n_fds);
}

int wire_in_next_members(wire_in *in, json_member_cb cb, void *userdata, int **ret_fds,
                         size_t *ret_n_fds)
{
        return next(in, NULL, cb, userdata, ret_fds, ret_n_fds);
}

void wire_out_init(wire_out *out)
{
        *out = (wire_out){};
}

/* The last large message buffer freed is kept for the next large message. Fresh memory costs a
 * page fault per 4 KiB on first touch, and in a nested VM a fault was measured at 25 us: 17 ms
 * for a 2.6 MB listing, 30 times what sending it costs. One buffer only, for the process: the
 * rest of a burst of large replies goes back to the system when sent (malloc maps buffers this
 * large on their own, see the daemon's main()). */
#define WIRE_SPARE_MIN (256u * 1024u)
static wire_msg *spare;

static wire_msg *wire_msg_new(size_t size)
{
        wire_msg *m;

        if (spare && spare->alloc >= size && size >= WIRE_SPARE_MIN) {
                m = TAKE_PTR(spare);
                size = m->alloc;
        } else {
                m = malloc(sizeof(*m) + size);
                if (!m)
                        return NULL;
        }
        *m = (wire_msg){ .alloc = size };
        return m;
}

static void wire_msg_free(wire_msg *m)
{
        close_many(m->fds, m->n_fds);
        free(m->fds);
        if (m->alloc >= WIRE_SPARE_MIN && (!spare || spare->alloc < m->alloc)) {
                free(spare);
                spare = m;
                spare->fds = NULL;
                spare->n_fds = 0;
                return;
        }
        free(m);
}

void wire_out_done(wire_out *out)
{
        while (out->head) {
                wire_msg *m = out->head;
                out->head = m->next;
                wire_msg_free(m);
        }
        *out = (wire_out){};
}

/* Writes the message: an object of the members, or v itself. */
static void message_write(json_writer *w, const wire_member *members, size_t n_members,
                          json_object *v)
{
        if (!members) {
                json_write_value(w, v);
                return;
        }
        json_write_raw(w, "{");
        for (size_t i = 0; i < n_members; i++) {
                const wire_member *m = &members[i];

                if (i > 0)
                        json_write_raw(w, ",");
                json_write_string(w, m->key, strlen(m->key));
                json_write_raw(w, ":");
                if (m->value)
                        json_write_value(w, m->value);
                else if (m->string)
                        json_write_string(w, m->string, strlen(m->string));
                else if (m->fill) {
                        if (w->buf)
                                m->fill(w->buf + w->len, m->fill_len, m->userdata);
                        w->len += m->fill_len;
                } else
                        json_write_raw(w, m->raw);
        }
        json_write_raw(w, "}");
}

static int push(wire_out *out, const wire_member *members, size_t n_members, json_object *v,
                int *fds, size_t n_fds)
{
        json_writer w = {};
        wire_msg *m;

        if (n_fds > WIRE_FDS_MAX || out->n_messages >= WIRE_QUEUED_MESSAGES_MAX) {
                close_many(fds, n_fds);
                free(fds);
                return n_fds > WIRE_FDS_MAX ? -E2BIG : -ENOBUFS;
        }
        /* Plain and slash-unescaped, as every other varlink peer writes it. Counted, then
         * written once into a message of its exact size: no intermediate copy, and nothing
         * larger than the message is left behind once it is sent. */
        message_write(&w, members, n_members, v);
        m = w.error >= 0 ? wire_msg_new(w.len + 1) : NULL;
        if (!m) {
                close_many(fds, n_fds);
                free(fds);
                return w.error < 0 ? w.error : -ENOMEM;
        }
        m->size = w.len + 1;
        m->fds = fds;
        m->n_fds = n_fds;
        w = (json_writer){ .buf = m->data };
        message_write(&w, members, n_members, v);
        if (w.error < 0 || w.len + 1 != m->size) {
                /* Only a double json-c failed to write the second time. */
                m->fds = NULL;
                m->n_fds = 0;
                wire_msg_free(m);
                close_many(fds, n_fds);
                free(fds);
                return w.error < 0 ? w.error : -EIO;
        }
        m->data[w.len] = 0;
        out->n_fds += n_fds;

        if (out->tail)
                out->tail->next = m;
        else
                out->head = m;
        out->tail = m;
        out->bytes += m->size;
        out->n_messages++;
        return 0;
}

int wire_out_push(wire_out *out, json_object *v, int *fds, size_t n_fds)
{
        return push(out, NULL, 0, v, fds, n_fds);
}

int wire_out_push_members(wire_out *out, const wire_member *members, size_t n_members, int *fds,
                          size_t n_fds)
{
        return push(out, members, n_members, NULL, fds, n_fds);
}

int wire_out_flush(wire_out *out, int fd)
{
        while (out->head) {
                wire_msg *m = out->head;
                union {
                        struct cmsghdr hdr;
                        char buf[CMSG_SPACE(sizeof(int) * WIRE_FDS_MAX)];
                } control;
                struct iovec iov = { .iov_base = m->data + m->offset,
                                     .iov_len = m->size - m->offset };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n;

                /* fds go with the first byte of their message and never again. */
                if (m->offset == 0 && m->n_fds > 0) {
                        struct cmsghdr *c;

                        memset(&control, 0, sizeof(control));
                        mh.msg_control = &control;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->n_fds);
                        c = CMSG_FIRSTHDR(&mh);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int) * m->n_fds);
                        memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->n_fds);
                }

                n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EWOULDBLOCK || errno == EINTR)
                                return 0;
                        return negative_errno();
                }
                if (m->offset == 0 && m->n_fds > 0) {
                        close_many(m->fds, m->n_fds);
                        out->n_fds -= m->n_fds;
                        m->n_fds = 0;
                }
                m->offset += (size_t)n;
                out->bytes -= (size_t)n;
                if (m->offset < m->size)
                        continue;
                out->head = m->next;
                if (!out->head)
                        out->tail = NULL;
                out->n_messages--;
                out->n_fds -= m->n_fds;
                wire_msg_free(m);
        }
        return 1;
}
