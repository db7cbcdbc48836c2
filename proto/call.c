/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Serving calls: a message taken apart, its method found and run, and the replies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd-util.h"
#include "json-cleanup.h"
#include "log.h"
#include "server-internal.h"

void call_clear(vl_link *l)
{
        l->call_open = false;
        l->call_flags = 0;
        if (l->call_method)
                json_object_put(l->call_method);
        l->call_method = NULL;
        close_many(l->call_fds, l->n_call_fds);
        free(l->call_fds);
        l->call_fds = NULL;
        l->n_call_fds = 0;
        close_many(l->push_fds, l->n_push_fds);
        free(l->push_fds);
        l->push_fds = NULL;
        l->n_push_fds = 0;
}

static void call_end(vl_link *l)
{
        call_clear(l);
        /* Pipelined calls may be waiting in the buffer: serve them from the event loop, not
         * from inside the reply that ended this call. A call that ends while link_process()
         * serves it needs nothing: its loop goes on to the next message. */
        if (l->defer && !l->serving)
                sd_event_source_set_enabled(l->defer, SD_EVENT_ONESHOT);
}

/* parameters: the member that writes them. */
static int link_reply_member(vl_link *l, const char *error, const wire_member *parameters,
                             bool continues)
{
        wire_member members[3];
        size_t n = 0;
        int r;

        if (l->closed)
                return -ENOTCONN;
        if (!l->call_open)
                return -EBADMSG;
        if (continues && !(l->call_flags & VL_CALL_MORE))
                return -EPROTO;
        if (l->call_flags & VL_CALL_ONEWAY) {
                if (!continues)
                        call_end(l);
                return 0;
        }

        /* Default-valued keys ("continues": false) are left out: strict peers compare raw
         * messages. */
        if (error)
                members[n++] = (wire_member){ .key = "error", .string = error };
        members[n++] = *parameters;
        if (continues)
                members[n++] = (wire_member){ .key = "continues", .raw = "true" };

        r = link_send(l, members, n, !error);
        if (!continues && !l->closed)
                call_end(l);
        return r;
}

static int link_reply_internal(vl_link *l, const char *error, json_object *parameters,
                               bool continues)
{
        _cleanup_json_ json_object *params = parameters;

        return link_reply_member(
                l, error, &(wire_member){ .key = "parameters", .value = params, .raw = "{}" },
                continues);
}

int vl_link_reply(vl_link *l, json_object *parameters)
{
        return link_reply_internal(l, NULL, parameters, false);
}

typedef struct text_reply {
        const char *key;
        size_t key_len, value_len;
        vl_text_fill fill;
        void *userdata;
} text_reply;

/* {"key":value} */
static void fill_text_reply(char *buf, size_t len, void *userdata)
{
        const text_reply *t = userdata;

        *buf++ = '{';
        *buf++ = '"';
        buf = mempcpy(buf, t->key, t->key_len);
        *buf++ = '"';
        *buf++ = ':';
        t->fill(buf, t->value_len, t->userdata);
        buf[t->value_len] = '}';
}

int vl_link_reply_text(vl_link *l, const char *key, size_t len, vl_text_fill fill, void *userdata)
{
        text_reply t = { .key = key,
                         .key_len = strlen(key),
                         .value_len = len,
                         .fill = fill,
                         .userdata = userdata };

        return link_reply_member(l, NULL,
                                 &(wire_member){ .key = "parameters",
                                                 .fill = fill_text_reply,
                                                 .fill_len = t.key_len + len + 5,
                                                 .userdata = &t },
                                 false);
}

int vl_link_notify(vl_link *l, json_object *parameters)
{
        return link_reply_internal(l, NULL, parameters, true);
}

int vl_link_error(vl_link *l, const char *error, json_object *parameters)
{
        /* Errors carry no fds. */
        close_many(l->push_fds, l->n_push_fds);
        l->n_push_fds = 0;
        return link_reply_internal(l, error, parameters, false);
}

int vl_link_error_invalid_parameter(vl_link *l, const char *name)
{
        json_object *p = json_object_new_object();

        if (!p)
                return -ENOMEM;
        json_object_object_add(p, "parameter", json_object_new_string(name));
        return vl_link_error(l, VL_ERROR_INVALID_PARAMETER, p);
}

int vl_link_error_errno(vl_link *l, int error)
{
        json_object *p = json_object_new_object();
        const char *name;

        if (!p)
                return -ENOMEM;
        error = abs(error);
        name = strerrorname_np(error);
        json_object_object_add(p, "errno", json_object_new_int(error));
        if (name)
                json_object_object_add(p, "errnoName", json_object_new_string(name));
        return vl_link_error(l, VL_ERROR_SYSTEM, p);
}

int vl_link_push_fd(vl_link *l, int fd)
{
        int *n;

        if (fd < 0)
                return -EBADF;
        if (l->closed || l->n_push_fds >= WIRE_FDS_MAX) {
                safe_close(fd);
                return l->closed ? -ENOTCONN : -E2BIG;
        }
        n = reallocarray(l->push_fds, l->n_push_fds + 1, sizeof(int));
        if (!n) {
                safe_close(fd);
                return -ENOMEM;
        }
        l->push_fds = n;
        l->push_fds[l->n_push_fds] = fd;
        return (int)l->n_push_fds++;
}

int vl_link_peek_fd(const vl_link *l, unsigned idx)
{
        if (idx >= l->n_call_fds || l->call_fds[idx] < 0)
                return -ENXIO;
        return l->call_fds[idx];
}

int vl_link_take_fd(vl_link *l, unsigned idx)
{
        if (idx >= l->n_call_fds || l->call_fds[idx] < 0)
                return -ENXIO;
        return TAKE_FD(l->call_fds[idx]);
}

unsigned vl_link_n_fds(const vl_link *l)
{
        return (unsigned)l->n_call_fds;
}

int vl_link_dispatch(vl_link *l, json_object *params, const vl_field *table, void *args)
{
        const char *bad = NULL;
        int r;

        r = vl_dispatch(params, table, args, &bad);
        if (r == -EINVAL) {
                r = vl_link_error_invalid_parameter(l, bad);
                return r < 0 ? r : 1;
        }
        return r;
}

/* ---- serving calls ---- */

/* The members of a call, as they came: a repeated key counts with its last value, as in a
 * json-c object. */
enum { CALL_METHOD, CALL_PARAMETERS, CALL_MORE, CALL_ONEWAY, CALL_UPGRADE, _CALL_KEYS };

static const char *const call_keys[_CALL_KEYS] = { "method", "parameters", "more", "oneway",
                                                   "upgrade" };

typedef struct call_msg {
        json_object *v[_CALL_KEYS];
        bool set[_CALL_KEYS]; /* given, null included */
} call_msg;

static int call_member(const char *key, json_object *value, void *userdata)
{
        call_msg *m = userdata;

        for (size_t i = 0; i < _CALL_KEYS; i++)
                if (streq(key, call_keys[i])) {
                        if (m->v[i])
                                json_object_put(m->v[i]);
                        m->v[i] = value;
                        m->set[i] = true;
                        return 0;
                }
        if (value)
                json_object_put(value);
        /* As sd-varlink: a call has no other keys. */
        return -EBADMSG;
}

static void call_msg_done(call_msg *m)
{
        for (size_t i = 0; i < _CALL_KEYS; i++)
                if (m->v[i])
                        json_object_put(m->v[i]);
}

static int call_parse(const call_msg *m, json_object **ret_params, unsigned *ret_flags)
{
        static const unsigned bits[_CALL_KEYS] = {
                [CALL_MORE] = VL_CALL_MORE, [CALL_ONEWAY] = VL_CALL_ONEWAY, [CALL_UPGRADE] = 1u << 8
        };
        json_object *params = m->v[CALL_PARAMETERS];
        unsigned flags = 0;

        if (!json_object_is_type(m->v[CALL_METHOD], json_type_string))
                return -EBADMSG;
        if (!json_object_is_type(params, json_type_object) &&
            !json_object_is_type(params, json_type_null))
                return -EBADMSG;
        for (size_t i = CALL_MORE; i <= CALL_UPGRADE; i++) {
                if (!m->set[i])
                        continue;
                if (!json_object_is_type(m->v[i], json_type_boolean))
                        return -EBADMSG;
                if (json_object_get_boolean(m->v[i]))
                        flags |= bits[i];
        }
        if (flags & VL_CALL_MORE && flags & VL_CALL_ONEWAY)
                return -EBADMSG;
        *ret_params = params;
        *ret_flags = flags;
        return 0;
}

static int call_error_name(vl_link *l, const char *error, const char *key, json_object *value)
{
        json_object *p = json_object_new_object();

        if (!p)
                return -ENOMEM;
        if (key)
                json_object_object_add(p, key, json_object_get(value));
        return vl_link_error(l, error, p);
}

static int call_run(vl_link *l, const vl_interface *iface, const vl_method *m, json_object *params)
{
        _cleanup_json_ json_object *empty = NULL;
        _cleanup_free_ void *args = NULL;
        void *userdata = l->server->userdata;
        const char *bad = NULL;
        int r;

        if (iface->authorize) {
                r = iface->authorize(l, m, userdata);
                if (r < 0)
                        return r;
                if (r == 0)
                        return call_error_name(l, VL_ERROR_PERMISSION_DENIED, NULL, NULL);
        }

        if (m->args_size > 0) {
                args = calloc(1, m->args_size);
                if (!args)
                        return -ENOMEM;
                if (m->args_defaults)
                        memcpy(args, m->args_defaults, m->args_size);
        }
        r = vl_dispatch(params, m->fields, args, &bad);
        if (r == -EINVAL)
                return vl_link_error_invalid_parameter(l, bad);
        if (r < 0)
                return r;

        if (!params) {
                params = empty = json_object_new_object();
                if (!params)
                        return -ENOMEM;
        }
        return m->handler(l, params, args, userdata);
}

/* Serves one message; takes the fds. A negative errno is a protocol error: close. */
static int call_handle_message(vl_link *l, call_msg *msg, int *fds, size_t n_fds)
{
        const vl_interface *iface;
        const vl_method *m;
        const char *method;
        json_object *params, *name_json;
        unsigned flags;
        bool deferred = false;
        int r;

        r = call_parse(msg, &params, &flags);
        if (r < 0) {
                close_many(fds, n_fds);
                free(fds);
                return r;
        }

        l->call_open = true;
        l->call_flags = flags & (VL_CALL_MORE | VL_CALL_ONEWAY);
        /* The name stays with the call (vl_link_call_method), no copy made. */
        name_json = l->call_method = TAKE_PTR(msg->v[CALL_METHOD]);
        method = json_object_get_string(name_json);
        l->call_fds = fds;
        l->n_call_fds = n_fds;

        /* With a NUL inside, C would look up the name before it: no method has such a name. */
        r = strlen(method) == (size_t)json_object_get_string_len(name_json)
                    ? vl_server_find_method(l->server, method, &iface, &m)
                    : -ENOENT;
        if (r == -EINVAL || r == -ENXIO) {
                const char *dot = strrchr(method, '.');
                _cleanup_json_ json_object *name = json_object_new_string_len(
                        method, dot ? (int)(dot - method) : (int)strlen(method));

                r = name ? call_error_name(l, VL_ERROR_INTERFACE_NOT_FOUND, "interface", name)
                         : -ENOMEM;
        } else if (r == -ENOENT)
                r = call_error_name(l, VL_ERROR_METHOD_NOT_FOUND, "method", name_json);
        else if (!m->handler || flags & (1u << 8))
                r = call_error_name(l, VL_ERROR_METHOD_NOT_IMPLEMENTED, "method", name_json);
        else if (m->flags & VL_METHOD_REQUIRES_MORE && !(flags & VL_CALL_MORE))
                r = call_error_name(l, VL_ERROR_EXPECTED_MORE, NULL, NULL);
        else if (n_fds > 0 && !(m->flags & VL_METHOD_ACCEPT_FDS))
                /* The fds are closed with the call; say why rather than silently drop them. */
                r = vl_link_error_invalid_parameter(l, "fileDescriptors");
        else {
                unsigned refs = l->n_ref;

                r = call_run(l, iface, m, params);
                /* A handler that kept a reference replies later, oneway or not: until then the
                 * call stays open and the next one waits, so its late reply cannot end the
                 * wrong call. */
                deferred = l->n_ref > refs;
        }

        if (r < 0 && !l->closed && l->call_open) {
                log_debug_errno(r, "varlink: %s failed: %m", method);
                r = vl_link_error_errno(l, r);
        }
        if (!l->closed && l->call_open && l->call_flags & VL_CALL_ONEWAY && (r < 0 || !deferred))
                call_end(l);
        return r < 0 && r != -ENOTCONN ? r : 0;
}

int call_serve_next(vl_link *l)
{
        call_msg msg = {};
        int *fds = NULL;
        size_t n_fds = 0;
        int r;

        r = wire_in_next_members(&l->in, call_member, &msg, &fds, &n_fds);
        if (r > 0)
                r = call_handle_message(l, &msg, fds, n_fds) ?: 1;
        call_msg_done(&msg);
        return r;
}
