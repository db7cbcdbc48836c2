/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "client.h"
#include "fd-util.h"
#include "json-cleanup.h"
#include "macro.h"
#include "wire.h"

struct vl_client {
        int fd;
        int timeout_ms;
        wire_in in;
        wire_out out;
};

int vl_client_new_from_fd(int fd, vl_client **ret)
{
        vl_client *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->fd = fd;
        c->timeout_ms = -1;
        wire_in_init(&c->in, 0);
        wire_out_init(&c->out);
        *ret = c;
        return 0;
}

int vl_client_connect(const char *path, vl_client **ret)
{
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
                return negative_errno();
        r = vl_client_new_from_fd(fd, ret);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return 0;
}

vl_client *vl_client_free(vl_client *c)
{
        if (!c)
                return NULL;
        wire_in_done(&c->in);
        wire_out_done(&c->out);
        safe_close(c->fd);
        free(c);
        return NULL;
}

void vl_client_freep(vl_client **c)
{
        *c = vl_client_free(*c);
}

int vl_client_fd(const vl_client *c)
{
        return c->fd;
}

void vl_client_set_timeout(vl_client *c, int timeout_ms)
{
        c->timeout_ms = timeout_ms;
}

static int client_wait(vl_client *c, short events)
{
        struct pollfd p = { .fd = c->fd, .events = events };
        int r;

        do
                r = poll(&p, 1, c->timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return negative_errno();
        if (r == 0)
                return -ETIMEDOUT;
        return 0;
}

int vl_client_send(vl_client *c, const char *method, json_object *params, unsigned flags,
                   const int *fds, size_t n_fds)
{
        _cleanup_json_ json_object *p = params;
        _cleanup_free_ int *copy = NULL;
        wire_member members[4];
        size_t n = 0;
        int r;

        members[n++] = (wire_member){ .key = "method", .string = method };
        if (p)
                members[n++] = (wire_member){ .key = "parameters", .value = p };
        if (flags & VL_SEND_MORE)
                members[n++] = (wire_member){ .key = "more", .raw = "true" };
        if (flags & VL_SEND_ONEWAY)
                members[n++] = (wire_member){ .key = "oneway", .raw = "true" };

        /* The queue closes what it sends; the caller keeps its own fds, so send duplicates. */
        if (n_fds > 0) {
                copy = calloc(n_fds, sizeof(int));
                if (!copy)
                        return -ENOMEM;
                for (size_t i = 0; i < n_fds; i++) {
                        copy[i] = fcntl_dupfd_cloexec(fds[i]);
                        if (copy[i] < 0) {
                                r = copy[i];
                                close_many(copy, i);
                                return r;
                        }
                }
        }
        r = wire_out_push_members(&c->out, members, n, TAKE_PTR(copy), n_fds);
        if (r < 0)
                return r;
        for (;;) {
                r = wire_out_flush(&c->out, c->fd);
                if (r != 0)
                        return r < 0 ? r : 0;
                r = client_wait(c, POLLOUT);
                if (r < 0)
                        return r;
        }
}

/* The members of a reply that matter; others are tolerated, as the spec asks of clients. A
 * repeated key counts with its last value, as in a json-c object. */
typedef struct reply_msg {
        json_object *error, *continues, *parameters;
        bool has_error, has_continues;
} reply_msg;

static void slot_set(json_object **slot, json_object *value)
{
        if (*slot)
                json_object_put(*slot);
        *slot = value;
}

static int reply_member(const char *key, json_object *value, void *userdata)
{
        reply_msg *m = userdata;

        if (streq(key, "error")) {
                slot_set(&m->error, value);
                m->has_error = true;
        } else if (streq(key, "continues")) {
                slot_set(&m->continues, value);
                m->has_continues = true;
        } else if (streq(key, "parameters"))
                slot_set(&m->parameters, value);
        else if (value)
                json_object_put(value);
        return 0;
}

static void reply_msg_done(reply_msg *m)
{
        slot_set(&m->error, NULL);
        slot_set(&m->continues, NULL);
        slot_set(&m->parameters, NULL);
}

static int reply_parse(reply_msg *m, vl_reply *ret)
{
        if (m->has_error) {
                if (!json_object_is_type(m->error, json_type_string))
                        return -EBADMSG;
                ret->error = strdup(json_object_get_string(m->error));
                if (!ret->error)
                        return -ENOMEM;
        }
        if (m->has_continues) {
                if (!json_object_is_type(m->continues, json_type_boolean))
                        return -EBADMSG;
                ret->continues = json_object_get_boolean(m->continues);
        }
        if (json_object_is_type(m->parameters, json_type_object))
                ret->parameters = TAKE_PTR(m->parameters);
        else if (!(ret->parameters = json_object_new_object()))
                return -ENOMEM;
        return 0;
}

/* Waits for the next message: its members into msg, its fds into ret. wait_first: nothing
 * can have come yet (a call just sent), so wait before reading rather than read for nothing. */
static int reply_receive(vl_client *c, reply_msg *msg, vl_reply *ret, bool wait_first)
{
        int r;

        for (;;) {
                r = wire_in_next_members(&c->in, reply_member, msg, &ret->fds, &ret->n_fds);
                if (r != 0)
                        return r;
                if (wait_first && c->timeout_ms != 0) {
                        r = client_wait(c, POLLIN);
                        if (r < 0)
                                return r;
                }
                wait_first = false;
                r = wire_in_read(&c->in, c->fd);
                if (r == 0)
                        return -ECONNRESET;
                if (r == -EAGAIN) {
                        /* Nothing came, and a receive that may not wait need not ask again. */
                        r = c->timeout_ms == 0 ? -ETIMEDOUT : client_wait(c, POLLIN);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (r < 0)
                        return r;
        }
}

static int client_recv(vl_client *c, vl_reply *ret, bool wait_first)
{
        _cleanup_(reply_msg_done) reply_msg msg = {};
        int r;

        *ret = (vl_reply){};
        r = reply_receive(c, &msg, ret, wait_first);
        if (r >= 0)
                r = reply_parse(&msg, ret);
        if (r < 0)
                vl_reply_done(ret);
        return r;
}

int vl_client_recv(vl_client *c, vl_reply *ret)
{
        return client_recv(c, ret, false);
}

int vl_client_call(vl_client *c, const char *method, json_object *params, const int *fds,
                   size_t n_fds, vl_reply *ret)
{
        int r = vl_client_send(c, method, params, 0, fds, n_fds);

        if (r < 0) {
                *ret = (vl_reply){};
                return r;
        }
        return client_recv(c, ret, true);
}

int vl_client_call_more(vl_client *c, const char *method, json_object *params,
                        int (*cb)(const vl_reply *reply, void *userdata), void *userdata)
{
        int r = vl_client_send(c, method, params, VL_SEND_MORE, NULL, 0);

        while (r >= 0) {
                vl_reply reply;
                bool last;

                r = vl_client_recv(c, &reply);
                if (r < 0)
                        break;
                last = !reply.continues;
                r = cb(&reply, userdata);
                vl_reply_done(&reply);
                if (r != 0 || last)
                        break;
        }
        return r;
}

void vl_reply_done(vl_reply *r)
{
        if (r->parameters)
                json_object_put(r->parameters);
        free(r->error);
        close_many(r->fds, r->n_fds);
        free(r->fds);
        *r = (vl_reply){};
}

int vl_reply_take_fd(vl_reply *r, size_t idx)
{
        if (idx >= r->n_fds || r->fds[idx] < 0)
                return -ENXIO;
        return TAKE_FD(r->fds[idx]);
}
