/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The input is what a peer writes on one varlink connection: NUL-separated messages, the last
 * maybe unterminated. A real vl_server on a real sd-event loop serves it over a socketpair, so
 * framing, fd attribution, dispatch tables, call ordering and teardown all run as in the daemon.
 *
 * The test interface has a field of every dispatcher type and every way a handler can answer:
 * at once, streamed, from later events, with fds, with errors, by closing. The handlers check
 * what the server promises them (dispatched values obey their table, the next call waits for a
 * deferred one, a call that carries fds was declared to take them...) and abort when a promise
 * is broken, so a broken promise is a crash libFuzzer can minimise, not a silent oddity. The
 * replies are checked to be well-formed, and no fd may outlive the run (sanitizers do not
 * see fd leaks).
 *
 * A message that mentions "Descriptor" (as fileDescriptor does) goes out with fds on its first
 * byte, as a real client sends Acquire. Both socket buffers are small, so messages and replies
 * straddle reads and the server's output queue limit is reachable. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json-cleanup.h"
#include "log.h"
#include "varlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX           (64u * 1024u)
#define FDS_PER_MESSAGE_MAX 4u
#define FD_MARKER           "Descriptor"
/* A run ends long before this unless the server spins. */
#define ITERATIONS_MAX 200000u
/* fds the run may create above the lowest free one at its start; all must be gone at its end. */
#define FD_WINDOW 256

#define fail(...)                                                                                  \
        do {                                                                                       \
                fprintf(stderr, "fuzz-varlink: " __VA_ARGS__);                                     \
                fputc('\n', stderr);                                                               \
                abort();                                                                           \
        } while (0)

typedef struct fd_message {
        size_t start, end; /* end: one past its NUL, or the end of the input */
        unsigned n_fds;
} fd_message;

typedef struct fuzz_ctx {
        sd_event *event;
        vl_server *server;
        int peer;    /* our end of the socketpair: the client */
        int devnull; /* what travels as fds */
        const uint8_t *data;
        size_t size, off;
        fd_message *fd_messages;
        size_t n_fd_messages, next_fd_message;
        bool shut, eof;

        char *replies; /* received, not yet complete, reply bytes */
        size_t n_replies, replies_alloc;
        json_tokener *tok;

        unsigned connected, disconnected;
        bool deferred_open; /* a Defer call has not answered yet */
} fuzz_ctx;

/* ---- the test interface ---- */

typedef struct fuzz_args {
        bool b, fail, late, close;
        int i, count, error_number;
        unsigned u, fd;
        int64_t i64;
        uint64_t u64;
        double d;
        const char *name, *text, *error;
        json_object *list, *object, *array, *any, *fds;
} fuzz_args;

static const char fuzz_idl[] =
        "interface io.ioasid.Fuzz\n"
        "method Scalars(bool: ?bool, int: ?int, uint: ?int, int64: ?int, uint64: ?int,\n"
        "               double: ?float) -> (bool: bool, int: int, uint: int, int64: int,\n"
        "               uint64: int, double: ?float)\n"
        "method Strings(name: string, text: ?string, list: ?[]string, object: ?object,\n"
        "               array: ?[]object, any: ?object) -> (name: string, items: int)\n"
        "method Fds(fileDescriptor: int, fileDescriptors: ?[]int) -> (fileDescriptor: int,\n"
        "           count: int)\n"
        "method Stream(count: int) -> (index: int)\n"
        "method Reply(count: ?int, error: ?string, errno: ?int, late: ?bool, close: ?bool)\n"
        "             -> (index: int)\n"
        "method Defer(count: int, fail: ?bool) -> (index: int)\n"
        "method Forbidden() -> ()\n"
        "method Broken() -> ()\n"
        "method Unimplemented() -> ()\n"
        "error Failed ()\n";

#define FIELD(n, d, m, f)                                                                          \
        {                                                                                          \
                n, d, offsetof(fuzz_args, m), f                                                    \
        }
static const vl_field scalars_fields[] = {
        FIELD("bool", vl_field_bool, b, 0),
        FIELD("int", vl_field_int, i, 0),
        FIELD("uint", vl_field_uint, u, 0),
        FIELD("int64", vl_field_int64, i64, 0),
        FIELD("uint64", vl_field_uint64, u64, 0),
        FIELD("double", vl_field_double, d, 0),
        {},
};
static const vl_field strings_fields[] = {
        FIELD("name", vl_field_string, name, VL_FIELD_MANDATORY),
        FIELD("text", vl_field_string_any, text, 0),
        FIELD("list", vl_field_string_array, list, 0),
        FIELD("object", vl_field_object, object, 0),
        FIELD("array", vl_field_array, array, 0),
        FIELD("any", vl_field_any, any, 0),
        {},
};
static const vl_field fds_fields[] = {
        FIELD("fileDescriptor", vl_field_uint, fd, VL_FIELD_MANDATORY),
        FIELD("fileDescriptors", vl_field_array, fds, 0),
        {},
};
static const vl_field count_fields[] = {
        FIELD("count", vl_field_int, count, VL_FIELD_MANDATORY),
        {},
};
static const vl_field reply_fields[] = {
        FIELD("count", vl_field_int, count, 0),        FIELD("error", vl_field_string, error, 0),
        FIELD("errno", vl_field_int, error_number, 0), FIELD("late", vl_field_bool, late, 0),
        FIELD("close", vl_field_bool, close, 0),       {},
};
static const vl_field defer_fields[] = {
        FIELD("count", vl_field_int, count, VL_FIELD_MANDATORY),
        FIELD("fail", vl_field_bool, fail, 0),
        {},
};
/* So that the defaults are seen to be copied in: Reply notifies once unless told otherwise. */
static const fuzz_args reply_defaults = { .count = 1 };

static void check_call_start(fuzz_ctx *c, vl_link *link)
{
        /* Calls on a connection are served one at a time: while a handler has not answered, the
         * next call waits. */
        if (c->deferred_open)
                fail("%s served while a deferred call is still open", vl_link_call_method(link));
        if (vl_link_is_closed(link) || !vl_link_call_method(link))
                fail("handler called without an open call");
}

static json_object *index_reply(int idx)
{
        json_object *p = json_object_new_object();

        if (p)
                json_object_object_add(p, "index", json_object_new_int(idx));
        return p;
}

static bool param_set(json_object *params, const char *key, json_object **ret)
{
        return json_object_object_get_ex(params, key, ret) &&
               !json_object_is_type(*ret, json_type_null);
}

static int method_scalars(vl_link *link, json_object *params, void *args, void *userdata)
{
        const fuzz_args *a = args;
        json_object *reply, *v;

        check_call_start(userdata, link);
        /* What the table let through must be what was sent, in range for its type. */
        if (param_set(params, "int", &v) && json_object_get_int64(v) != a->i)
                fail("int dispatched as %d", a->i);
        if (param_set(params, "uint", &v) && json_object_get_int64(v) != (int64_t)a->u)
                fail("uint dispatched as %u", a->u);
        if (param_set(params, "uint64", &v) && json_object_get_uint64(v) != a->u64)
                fail("uint64 dispatched as %llu", (unsigned long long)a->u64);
        if (param_set(params, "bool", &v) && !json_object_is_type(v, json_type_boolean))
                fail("a non-boolean dispatched as bool");

        reply = json_object_new_object();
        if (!reply)
                return -ENOMEM;
        json_object_object_add(reply, "bool", json_object_new_boolean(a->b));
        json_object_object_add(reply, "int", json_object_new_int(a->i));
        json_object_object_add(reply, "uint", json_object_new_int64(a->u));
        json_object_object_add(reply, "int64", json_object_new_int64(a->i64));
        json_object_object_add(reply, "uint64", json_object_new_uint64(a->u64));
        if (isfinite(a->d))
                json_object_object_add(reply, "double", json_object_new_double(a->d));
        return vl_link_reply(link, reply);
}

static int method_strings(vl_link *link, json_object *params, void *args, void *userdata)
{
        const fuzz_args *a = args;
        json_object *reply, *v;
        size_t items = 0;

        check_call_start(userdata, link);
        if (!a->name || !vl_string_is_valid(a->name, strlen(a->name), false))
                fail("mandatory string let through as %s", a->name ? "invalid" : "missing");
        if (a->text && param_set(params, "text", &v) &&
            strlen(a->text) != (size_t)json_object_get_string_len(v))
                fail("string with a NUL let through");
        if (a->list)
                for (size_t i = 0; i < json_object_array_length(a->list); i++) {
                        v = json_object_array_get_idx(a->list, i);
                        if (!json_object_is_type(v, json_type_string) ||
                            !vl_string_is_valid(json_object_get_string(v),
                                                (size_t)json_object_get_string_len(v), false))
                                fail("string array item %zu let through", i);
                        items++;
                }
        if ((a->object && !json_object_is_type(a->object, json_type_object)) ||
            (a->array && !json_object_is_type(a->array, json_type_array)))
                fail("object or array of the wrong type let through");

        reply = json_object_new_object();
        if (!reply)
                return -ENOMEM;
        json_object_object_add(reply, "name", json_object_new_string(a->name));
        json_object_object_add(reply, "items", json_object_new_int64((int64_t)items));
        return vl_link_reply(link, reply);
}

static int method_fds(vl_link *link, json_object *params, void *args, void *userdata)
{
        const fuzz_args *a = args;
        unsigned n = vl_link_n_fds(link);
        json_object *reply;
        struct stat st;
        int fd, idx, pushed = 0;

        check_call_start(userdata, link);
        if (n > 253)
                fail("%u fds in one call", n);
        fd = vl_link_peek_fd(link, a->fd);
        if (fd < 0)
                return vl_link_error_invalid_parameter(link, "fileDescriptor");
        if (fstat(fd, &st) < 0)
                fail("fd %u of the call is not open: %m", a->fd);
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();
        idx = vl_link_push_fd(link, fd);
        if (idx < 0)
                return idx;
        pushed++;

        /* Taken fds change hands: the reply carries them back. */
        for (size_t i = 0; a->fds && i < json_object_array_length(a->fds); i++) {
                json_object *v = json_object_array_get_idx(a->fds, i);
                int64_t k = vl_json_is_int(v) ? json_object_get_int64(v) : -1;
                int r;

                if (k < 0 || k >= (int64_t)n)
                        return vl_link_error_invalid_parameter(link, "fileDescriptors");
                fd = vl_link_take_fd(link, (unsigned)k);
                if (fd == -ENXIO)
                        continue; /* named twice */
                if (fd < 0 || vl_link_take_fd(link, (unsigned)k) != -ENXIO)
                        fail("take_fd(%d) gave %d or could be repeated", (int)k, fd);
                r = vl_link_push_fd(link, fd);
                if (r == -E2BIG)
                        break;
                if (r < 0)
                        return r;
                pushed++;
        }

        reply = json_object_new_object();
        if (!reply)
                return -ENOMEM;
        json_object_object_add(reply, "fileDescriptor", json_object_new_int(idx));
        json_object_object_add(reply, "count", json_object_new_int(pushed));
        return vl_link_reply(link, reply);
}

static int method_stream(vl_link *link, json_object *params, void *args, void *userdata)
{
        const fuzz_args *a = args;

        check_call_start(userdata, link);
        if (!(vl_link_call_flags(link) & VL_CALL_MORE))
                fail("a method that requires more was called without it");
        if (a->count < 0 || a->count > 16)
                return vl_link_error_invalid_parameter(link, "count");
        for (int i = 0; i < a->count; i++) {
                int r = vl_link_notify(link, index_reply(i));
                if (r < 0)
                        return r;
        }
        return vl_link_reply(link, index_reply(a->count));
}

static int method_reply(vl_link *link, json_object *params, void *args, void *userdata)
{
        const fuzz_args *a = args;
        bool more = vl_link_call_flags(link) & VL_CALL_MORE;
        int r;

        check_call_start(userdata, link);
        if (a->count < 0 || a->count > 8)
                return vl_link_error_invalid_parameter(link, "count");
        if (a->error_number < 0 || a->error_number > 4095)
                return vl_link_error_invalid_parameter(link, "errno");

        for (int i = 0; i < a->count; i++) {
                r = vl_link_notify(link, index_reply(i));
                if (!more && r != -EPROTO)
                        fail("notify on a call without more gave %d", r);
                if (more && r < 0)
                        return r;
        }
        if (a->close) {
                vl_link_close(link);
                r = vl_link_reply(link, NULL);
                if (r != -ENOTCONN)
                        fail("reply on a closed link gave %d", r);
                return 0;
        }
        if (a->error_number > 0 && !a->late)
                return -a->error_number;
        if (a->error)
                r = vl_link_error(link, a->error, NULL);
        else
                r = vl_link_reply(link, index_reply(a->count));
        if (r < 0)
                return r;
        /* The call is over: nothing more may be sent for it. */
        if (vl_link_reply(link, NULL) >= 0 || vl_link_error(link, "x.y", NULL) >= 0)
                fail("a second reply to one call was accepted");
        /* A failure after the reply is the handler's own: there is no call left to answer. */
        return a->late ? -a->error_number : 0;
}

typedef struct deferred {
        fuzz_ctx *ctx;
        vl_link *link;
        int left, index;
        bool more, fail;
} deferred;

static void deferred_free(void *userdata)
{
        deferred *d = userdata;

        vl_link_unref(d->link);
        free(d);
}

static int deferred_step(sd_event_source *source, void *userdata)
{
        deferred *d = userdata;
        int r;

        if (d->left > 0 && !vl_link_is_closed(d->link)) {
                d->left--;
                r = d->more ? vl_link_notify(d->link, index_reply(d->index++)) : 0;
                if (r >= 0)
                        return sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
        } else if (d->fail)
                (void)vl_link_error(d->link, "io.ioasid.Fuzz.Failed", NULL);
        else
                (void)vl_link_reply(d->link, index_reply(d->index));
        d->ctx->deferred_open = false;
        /* Floating: this drops the loop's reference, and the destroy callback frees d. */
        sd_event_source_disable_unref(source);
        return 0;
}

static int method_defer(vl_link *link, json_object *params, void *args, void *userdata)
{
        const fuzz_args *a = args;
        fuzz_ctx *c = userdata;
        sd_event_source *source = NULL;
        deferred *d;
        int r;

        check_call_start(c, link);
        if (a->count < 0 || a->count > 8)
                return vl_link_error_invalid_parameter(link, "count");
        d = malloc(sizeof(*d));
        if (!d)
                return -ENOMEM;
        *d = (deferred){ .ctx = c,
                         .link = vl_link_ref(link),
                         .left = a->count,
                         .more = vl_link_call_flags(link) & VL_CALL_MORE,
                         .fail = a->fail };
        r = sd_event_add_defer(c->event, &source, deferred_step, d);
        if (r < 0) {
                deferred_free(d);
                return r;
        }
        /* From here the loop owns it: a run that ends before the reply still frees it. */
        sd_event_source_set_destroy_callback(source, deferred_free);
        r = sd_event_source_set_floating(source, true);
        sd_event_source_unref(source);
        if (r < 0)
                return r;
        c->deferred_open = true;
        return 0;
}

static int method_never(vl_link *link, json_object *params, void *args, void *userdata)
{
        fail("%s ran although its interface refused it", vl_link_call_method(link));
}

static int fuzz_authorize(vl_link *link, const vl_method *m, void *userdata)
{
        check_call_start(userdata, link);
        if (streq(m->name, "Forbidden"))
                return 0;
        if (streq(m->name, "Broken"))
                return -EIO;
        return 1;
}

#define METHOD(n, h, t, fl)                                                                        \
        {                                                                                          \
                .name = n, .handler = h, .fields = t, .args_size = sizeof(fuzz_args), .flags = fl  \
        }
static const vl_method fuzz_methods[] = {
        METHOD("Scalars", method_scalars, scalars_fields, 0),
        METHOD("Strings", method_strings, strings_fields, 0),
        METHOD("Fds", method_fds, fds_fields, VL_METHOD_ACCEPT_FDS),
        METHOD("Stream", method_stream, count_fields, VL_METHOD_REQUIRES_MORE),
        { .name = "Reply",
          .handler = method_reply,
          .fields = reply_fields,
          .args_size = sizeof(fuzz_args),
          .args_defaults = &reply_defaults },
        METHOD("Defer", method_defer, defer_fields, 0),
        METHOD("Forbidden", method_never, NULL, 0),
        METHOD("Broken", method_never, NULL, 0),
        { .name = "Unimplemented" },
        {},
};

static const vl_interface fuzz_interface = {
        .name = "io.ioasid.Fuzz",
        .description = fuzz_idl,
        .methods = fuzz_methods,
        .authorize = fuzz_authorize,
};

static void on_disconnect(vl_link *link, void *userdata)
{
        fuzz_ctx *c = vl_server_get_userdata(vl_link_server(link));

        c->disconnected++;
}

static void on_connect(vl_link *link, void *userdata)
{
        fuzz_ctx *c = userdata;

        c->connected++;
        vl_link_set_disconnect_handler(link, on_disconnect);
}

/* ---- the client side ---- */

static unsigned count_markers(const uint8_t *p, size_t len)
{
        const size_t m = strlen(FD_MARKER);
        unsigned n = 0;

        for (const uint8_t *q; n < FDS_PER_MESSAGE_MAX && (q = memmem(p, len, FD_MARKER, m)); n++) {
                len -= (size_t)(q - p) + m;
                p = q + m;
        }
        return n;
}

static int find_fd_messages(fuzz_ctx *c)
{
        for (size_t start = 0; start < c->size;) {
                const uint8_t *nul = memchr(c->data + start, 0, c->size - start);
                size_t end = nul ? (size_t)(nul - c->data) + 1 : c->size;
                unsigned n = count_markers(c->data + start, end - start);

                if (n > 0) {
                        fd_message *m =
                                reallocarray(c->fd_messages, c->n_fd_messages + 1, sizeof(*m));
                        if (!m)
                                return -ENOMEM;
                        c->fd_messages = m;
                        m[c->n_fd_messages++] = (fd_message){ start, end, n };
                }
                start = end;
        }
        return 0;
}

static ssize_t send_fds(int fd, const uint8_t *p, size_t len, int devnull, unsigned n)
{
        union {
                struct cmsghdr hdr;
                char buf[CMSG_SPACE(sizeof(int) * FDS_PER_MESSAGE_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = &control,
                             .msg_controllen = CMSG_SPACE(sizeof(int) * n) };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
        for (unsigned i = 0; i < n; i++)
                memcpy(CMSG_DATA(cm) + i * sizeof(int), &devnull, sizeof(int));
        return sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Writes what the socket takes; true when anything happened. */
static bool feed(fuzz_ctx *c)
{
        bool progress = false;

        while (c->off < c->size) {
                const fd_message *m = c->next_fd_message < c->n_fd_messages
                                              ? &c->fd_messages[c->next_fd_message]
                                              : NULL;
                ssize_t n;

                if (m && c->off == m->start) {
                        n = send_fds(c->peer, c->data + c->off, m->end - m->start, c->devnull,
                                     m->n_fds);
                        if (n > 0)
                                c->next_fd_message++;
                } else
                        n = send(c->peer, c->data + c->off, (m ? m->start : c->size) - c->off,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return progress;
                if (n <= 0) {
                        /* The server hung up on us: the rest of the input has nowhere to go. */
                        c->off = c->size;
                        break;
                }
                c->off += (size_t)n;
                progress = true;
        }
        if (!c->shut) {
                (void)shutdown(c->peer, SHUT_WR);
                c->shut = progress = true;
        }
        return progress;
}

static void check_reply(fuzz_ctx *c, const char *s, size_t len)
{
        json_object *msg;
        bool error = false, continues = false, parameters = false;

        json_tokener_reset(c->tok);
        msg = json_tokener_parse_ex(c->tok, s, (int)len);
        if (!msg || json_tokener_get_parse_end(c->tok) != len ||
            !json_object_is_type(msg, json_type_object))
                fail("server sent a reply that is not one JSON object: %.*s", (int)len, s);
        json_object_object_foreach (msg, key, value) {
                bool ok;

                if (streq(key, "error"))
                        ok = error = json_object_is_type(value, json_type_string);
                else if (streq(key, "continues"))
                        /* Default-valued keys are left out, so "continues" can only be true. */
                        ok = continues = json_object_is_type(value, json_type_boolean) &&
                                         json_object_get_boolean(value);
                else
                        ok = parameters = streq(key, "parameters") &&
                                          json_object_is_type(value, json_type_object);
                if (!ok)
                        fail("server sent a reply with a bad \"%s\": %.*s", key, (int)len, s);
        }
        if (!parameters || (error && continues))
                fail("server sent a malformed reply: %.*s", (int)len, s);
        json_object_put(msg);
}

static void replies_add(fuzz_ctx *c, const char *p, size_t n)
{
        size_t done = 0;

        if (c->n_replies + n > c->replies_alloc) {
                size_t a = MAX(c->n_replies + n, c->replies_alloc * 2);
                char *b = realloc(c->replies, a);
                if (!b)
                        fail("out of memory");
                c->replies = b;
                c->replies_alloc = a;
        }
        memcpy(c->replies + c->n_replies, p, n);
        c->n_replies += n;
        for (const char *nul; (nul = memchr(c->replies + done, 0, c->n_replies - done));) {
                check_reply(c, c->replies + done, (size_t)(nul - c->replies) - done);
                done = (size_t)(nul - c->replies) + 1;
        }
        memmove(c->replies, c->replies + done, c->n_replies - done);
        c->n_replies -= done;
}

/* Reads and checks what the server sent; true when anything came. */
static bool drain(fuzz_ctx *c)
{
        static char buf[64 * 1024];
        bool progress = false;

        while (!c->eof) {
                union {
                        struct cmsghdr hdr;
                        char buf[CMSG_SPACE(sizeof(int) * 253)];
                } control;
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
                struct msghdr mh = { .msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = &control,
                                     .msg_controllen = sizeof(control) };
                ssize_t n = recvmsg(c->peer, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        break;
                for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n >= 0 && cm;
                     cm = CMSG_NXTHDR(&mh, cm))
                        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                                close_many((int *)(void *)CMSG_DATA(cm),
                                           (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                progress = true;
                if (n <= 0) {
                        c->eof = true;
                        break;
                }
                replies_add(c, buf, (size_t)n);
        }
        return progress;
}

static void run(fuzz_ctx *c)
{
        unsigned idle = 0;

        for (unsigned i = 0; vl_server_n_connections(c->server) > 0; i++) {
                bool progress = feed(c);
                int r;

                if (i >= ITERATIONS_MAX)
                        fail("the connection is still open after %u iterations", i);
                /* Nothing in this run waits on a clock: a loop with nothing to do is stuck. */
                r = sd_event_run(c->event, idle < 3 ? 0 : 100 * 1000);
                if (r < 0)
                        fail("sd_event_run: %s", strerror(-r));
                progress |= r > 0;
                progress |= drain(c);
                if (progress)
                        idle = 0;
                else if (++idle > 3)
                        fail("stalled: %zu of %zu bytes sent, connection still open", c->off,
                             c->size);
        }
        while (!c->eof && drain(c))
                ;
}

/* ---- one input ---- */

static void fds_snapshot(int base, unsigned char open_fds[FD_WINDOW])
{
        for (int i = 0; i < FD_WINDOW; i++)
                open_fds[i] = fcntl(base + i, F_GETFD) >= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const vl_server_info info = { .vendor = "ioasid", .product = "fuzz-varlink" };
        static bool initialized;
        unsigned char fds_before[FD_WINDOW], fds_after[FD_WINDOW];
        fuzz_ctx c = { .data = data, .size = MIN(size, (size_t)INPUT_MAX), .peer = -EBADF };
        vl_server_limits limits;
        int pair[2], base, r;

        if (!initialized) {
                /* Refused input is the point here: logging each refusal would only be noise. */
                log_set_max_level(LOG_CRIT);
                log_parse_env();
                initialized = true;
        }

        c.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (c.devnull < 0)
                fail("open /dev/null: %m");
        base = c.devnull;
        fds_snapshot(base + 1, fds_before);

        c.tok = json_tokener_new();
        if (!c.tok || sd_event_new(&c.event) < 0 ||
            vl_server_new(c.event, &info, &c, &c.server) < 0)
                fail("cannot set up the server");
        limits = *vl_server_get_limits(c.server);
        /* Small enough for a 64 KiB input to cross them, and no timers: a run needs no clock. */
        limits.message_size_max = 16 * 1024;
        limits.queued_bytes_max = 32 * 1024;
        limits.idle_timeout_usec = 0;
        vl_server_set_limits(c.server, &limits);
        vl_server_set_connect_handler(c.server, on_connect);
        if (vl_server_add_interface(c.server, &fuzz_interface) < 0 || find_fd_messages(&c) < 0)
                fail("cannot set up the server");

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0)
                fail("socketpair: %m");
        c.peer = pair[1];
        /* Small socket buffers: messages arrive in pieces, replies back up into the queue. */
        (void)setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &(int){ 4096 }, sizeof(int));
        (void)setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &(int){ 4096 }, sizeof(int));
        r = vl_server_add_connection(c.server, pair[0], NULL);
        if (r < 0)
                fail("vl_server_add_connection: %s", strerror(-r));

        run(&c);

        vl_server_free(c.server);
        /* Frees what Defer calls left behind, and with them the last references to the link. */
        sd_event_unref(c.event);
        if (c.connected != 1 || c.disconnected != 1)
                fail("%u connects, %u disconnects", c.connected, c.disconnected);
        json_tokener_free(c.tok);
        free(c.replies);
        free(c.fd_messages);
        safe_close(c.peer);
        safe_close(c.devnull);

        if (fcntl(base, F_GETFD) >= 0)
                fail("fd %d left open", base);
        fds_snapshot(base + 1, fds_after);
        for (int i = 0; i < FD_WINDOW; i++)
                if (fds_after[i] && !fds_before[i])
                        fail("fd %d left open", base + 1 + i);
        return 0;
}
