/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "json-cleanup.h"
#include "log.h"
#include "server-internal.h"

static const vl_server_limits default_limits = {
        .connections_max = 4096,
        .connections_per_uid_max = 1024,
        .message_size_max = WIRE_MESSAGE_SIZE_MAX,
        .queued_bytes_max = WIRE_MESSAGE_SIZE_MAX,
        .idle_timeout_usec = 5ull * 60 * 1000000,
};

static void link_process(vl_link *l);
static void link_update_events(vl_link *l);

static int server_on_epoll(sd_event_source *source, int fd, uint32_t revents, void *userdata);

int vl_server_new(sd_event *event, const vl_server_info *info, void *userdata, vl_server **ret)
{
        vl_server *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->info = *info;
        s->limits = default_limits;
        s->userdata = userdata;
        s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        r = s->epoll_fd < 0 ? -errno : 0;
        if (r >= 0)
                r = sd_event_add_io(event, &s->epoll_source, s->epoll_fd, EPOLLIN, server_on_epoll,
                                    s);
        if (r >= 0)
                r = vl_server_add_interface(s, &vl_service_interface);
        if (r < 0) {
                vl_server_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

vl_server *vl_server_free(vl_server *s)
{
        if (!s)
                return NULL;
        while (s->links)
                vl_link_close(s->links);
        for (size_t i = 0; i < s->n_listeners; i++) {
                sd_event_source_disable_unref(s->listeners[i].source);
                safe_close(s->listeners[i].fd);
        }
        free(s->listeners);
        free(s->interfaces);
        free(s->uids);
        sd_event_source_disable_unref(s->epoll_source);
        safe_close(s->epoll_fd);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void vl_server_set_limits(vl_server *s, const vl_server_limits *limits)
{
        s->limits = *limits;
        if (!s->limits.message_size_max)
                s->limits.message_size_max = default_limits.message_size_max;
        if (!s->limits.queued_bytes_max)
                s->limits.queued_bytes_max = default_limits.queued_bytes_max;
}

const vl_server_limits *vl_server_get_limits(const vl_server *s)
{
        return &s->limits;
}

void vl_server_set_connect_handler(vl_server *s, void (*cb)(vl_link *link, void *userdata))
{
        s->connect_cb = cb;
}

void *vl_server_get_userdata(const vl_server *s)
{
        return s->userdata;
}

unsigned vl_server_n_connections(const vl_server *s)
{
        return s->n_links;
}

int vl_server_add_interface(vl_server *s, const vl_interface *iface)
{
        const vl_interface **n;

        for (size_t i = 0; i < s->n_interfaces; i++)
                if (streq(s->interfaces[i]->name, iface->name))
                        return -EEXIST;
        n = reallocarray(s->interfaces, s->n_interfaces + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n[s->n_interfaces++] = iface;
        s->interfaces = n;
        return 0;
}

int vl_server_find_method(vl_server *s, const char *method, const vl_interface **ret_iface,
                          const vl_method **ret_method)
{
        const char *dot = strrchr(method, '.');
        size_t len;

        *ret_iface = NULL;
        *ret_method = NULL;
        if (!dot)
                return -EINVAL;
        len = (size_t)(dot - method);
        for (size_t i = 0; i < s->n_interfaces; i++) {
                const vl_interface *iface = s->interfaces[i];

                if (strlen(iface->name) != len || strncmp(iface->name, method, len) != 0)
                        continue;
                *ret_iface = iface;
                for (const vl_method *m = iface->methods; m && m->name; m++)
                        if (streq(m->name, dot + 1)) {
                                *ret_method = m;
                                return 0;
                        }
                return -ENOENT;
        }
        return -ENXIO;
}

static uid_count *uid_slot(vl_server *s, uid_t uid, bool create)
{
        uid_count *n;

        for (size_t i = 0; i < s->n_uids; i++)
                if (s->uids[i].uid == uid)
                        return &s->uids[i];
        if (!create)
                return NULL;
        n = reallocarray(s->uids, s->n_uids + 1, sizeof(*n));
        if (!n)
                return NULL;
        s->uids = n;
        s->uids[s->n_uids] = (uid_count){ .uid = uid };
        return &s->uids[s->n_uids++];
}

static void uid_release(vl_server *s, uid_t uid)
{
        uid_count *c = uid_slot(s, uid, false);

        if (c && c->n > 0 && --c->n == 0)
                *c = s->uids[--s->n_uids];
}

/* ---- connections ---- */

vl_link *vl_link_ref(vl_link *l)
{
        if (l)
                l->n_ref++;
        return l;
}

static void call_clear(vl_link *l)
{
        l->call_open = false;
        l->call_flags = 0;
        free(l->call_method);
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

vl_link *vl_link_unref(vl_link *l)
{
        if (!l || --l->n_ref > 0)
                return NULL;
        call_clear(l);
        wire_in_done(&l->in);
        wire_out_done(&l->out);
        vl_peer_done(&l->peer);
        safe_close(l->fd);
        free(l);
        return NULL;
}

void vl_link_unrefp(vl_link **l)
{
        *l = vl_link_unref(*l);
}

void vl_link_close(vl_link *l)
{
        vl_server *s = l->server;

        if (l->closed)
                return;
        l->closed = true;
        vl_link_ref(l);
        if (l->disconnect_cb)
                l->disconnect_cb(l, l->userdata);
        if (l->registered)
                (void)epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, l->fd, NULL);
        l->registered = false;
        l->defer = sd_event_source_disable_unref(l->defer);
        l->idle = sd_event_source_disable_unref(l->idle);
        l->fd = safe_close(l->fd);
        call_clear(l);
        wire_out_done(&l->out);
        wire_in_done(&l->in);

        if (l->prev)
                l->prev->next = l->next;
        else
                s->links = l->next;
        if (l->next)
                l->next->prev = l->prev;
        l->prev = l->next = NULL;
        s->n_links--;
        uid_release(s, l->peer.uid);
        vl_link_unref(l); /* the server's reference */
        vl_link_unref(l);
}

bool vl_link_is_closed(const vl_link *l)
{
        return l->closed;
}

const vl_peer *vl_link_peer(const vl_link *l)
{
        return &l->peer;
}

unsigned vl_link_call_flags(const vl_link *l)
{
        return l->call_flags;
}

const char *vl_link_call_method(const vl_link *l)
{
        return l->call_method;
}

vl_server *vl_link_server(const vl_link *l)
{
        return l->server;
}

void *vl_link_get_userdata(const vl_link *l)
{
        return l->userdata;
}

void vl_link_set_userdata(vl_link *l, void *userdata)
{
        l->userdata = userdata;
}

void vl_link_set_disconnect_handler(vl_link *l, void (*cb)(vl_link *link, void *userdata))
{
        l->disconnect_cb = cb;
}

static int link_flush(vl_link *l)
{
        int r;

        if (l->closed)
                return -ENOTCONN;
        r = wire_out_flush(&l->out, l->fd);
        if (r < 0) {
                log_debug_errno(r, "varlink: write to pid %d failed, closing: %m",
                                (int)l->peer.pid);
                vl_link_close(l);
                return -ENOTCONN;
        }
        if (l->out.bytes > l->server->limits.queued_bytes_max) {
                /* A peer that does not read its replies must not pin our memory. */
                log_warning("varlink: pid %d has %zu unread bytes queued, closing connection",
                            (int)l->peer.pid, l->out.bytes);
                vl_link_close(l);
                return -ENOTCONN;
        }
        link_update_events(l);
        return 0;
}

static int link_send(vl_link *l, json_object *msg, bool with_fds)
{
        int *fds = NULL;
        size_t n = 0;
        int r;

        if (with_fds) {
                fds = TAKE_PTR(l->push_fds);
                n = l->n_push_fds;
                l->n_push_fds = 0;
        }
        r = wire_out_push(&l->out, msg, fds, n);
        if (r < 0) {
                log_warning_errno(r, "varlink: cannot queue reply to pid %d, closing: %m",
                                  (int)l->peer.pid);
                vl_link_close(l);
                return -ENOTCONN;
        }
        return link_flush(l);
}

static void call_end(vl_link *l)
{
        call_clear(l);
        /* Pipelined calls may be waiting in the buffer: serve them from the event loop, not
         * from inside the reply that ended this call. */
        if (l->defer)
                sd_event_source_set_enabled(l->defer, SD_EVENT_ONESHOT);
}

static int link_reply_internal(vl_link *l, const char *error, json_object *parameters,
                               bool continues)
{
        _cleanup_json_ json_object *params = parameters, *msg = NULL;
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

        msg = json_object_new_object();
        if (!msg)
                return -ENOMEM;
        if (!params) {
                params = json_object_new_object();
                if (!params)
                        return -ENOMEM;
        }
        /* Default-valued keys ("continues": false) are left out: strict peers compare raw
         * messages. */
        if (error)
                json_object_object_add(msg, "error", json_object_new_string(error));
        json_object_object_add(msg, "parameters", TAKE_PTR(params));
        if (continues)
                json_object_object_add(msg, "continues", json_object_new_boolean(true));

        r = link_send(l, msg, !error);
        if (!continues && !l->closed)
                call_end(l);
        return r;
}

int vl_link_reply(vl_link *l, json_object *parameters)
{
        return link_reply_internal(l, NULL, parameters, false);
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

static int call_parse(json_object *msg, const char **ret_method, json_object **ret_params,
                      unsigned *ret_flags)
{
        const char *method = NULL;
        json_object *params = NULL;
        unsigned flags = 0;

        if (!json_object_is_type(msg, json_type_object))
                return -EBADMSG;
        json_object_object_foreach (msg, key, value) {
                bool is_bool = json_object_is_type(value, json_type_boolean);

                if (streq(key, "method")) {
                        if (!json_object_is_type(value, json_type_string))
                                return -EBADMSG;
                        method = json_object_get_string(value);
                } else if (streq(key, "parameters")) {
                        if (!json_object_is_type(value, json_type_object) &&
                            !json_object_is_type(value, json_type_null))
                                return -EBADMSG;
                        params = json_object_is_type(value, json_type_object) ? value : NULL;
                } else if (streq(key, "more") || streq(key, "oneway") || streq(key, "upgrade")) {
                        if (!is_bool)
                                return -EBADMSG;
                        if (!json_object_get_boolean(value))
                                continue;
                        flags |= streq(key, "more")     ? VL_CALL_MORE
                                 : streq(key, "oneway") ? VL_CALL_ONEWAY
                                                        : 1u << 8;
                } else
                        /* As sd-varlink: a call has no other keys. */
                        return -EBADMSG;
        }
        if (!method || (flags & VL_CALL_MORE && flags & VL_CALL_ONEWAY))
                return -EBADMSG;
        *ret_method = method;
        *ret_params = params;
        *ret_flags = flags;
        return 0;
}

static int call_error_name(vl_link *l, const char *error, const char *key, const char *value)
{
        json_object *p = json_object_new_object();

        if (!p)
                return -ENOMEM;
        if (key)
                json_object_object_add(p, key, json_object_new_string(value));
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

static int link_handle_message(vl_link *l, json_object *msg, int *fds, size_t n_fds)
{
        const vl_interface *iface;
        const vl_method *m;
        const char *method;
        json_object *params;
        unsigned flags;
        bool deferred = false;
        int r;

        r = call_parse(msg, &method, &params, &flags);
        if (r < 0) {
                close_many(fds, n_fds);
                free(fds);
                return r;
        }

        l->call_open = true;
        l->call_flags = flags & (VL_CALL_MORE | VL_CALL_ONEWAY);
        l->call_method = strdup(method);
        l->call_fds = fds;
        l->n_call_fds = n_fds;
        if (!l->call_method)
                return -ENOMEM;

        r = vl_server_find_method(l->server, method, &iface, &m);
        if (r == -EINVAL || r == -ENXIO) {
                const char *dot = strrchr(method, '.');
                _cleanup_free_ char *name =
                        strndup(method, dot ? (size_t)(dot - method) : strlen(method));

                r = name ? call_error_name(l, VL_ERROR_INTERFACE_NOT_FOUND, "interface", name)
                         : -ENOMEM;
        } else if (r == -ENOENT)
                r = call_error_name(l, VL_ERROR_METHOD_NOT_FOUND, "method", method);
        else if (!m->handler || flags & (1u << 8))
                r = call_error_name(l, VL_ERROR_METHOD_NOT_IMPLEMENTED, "method", method);
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

static void link_update_events(vl_link *l)
{
        uint32_t events = l->rdhup ? 0 : EPOLLRDHUP;

        if (l->closed || !l->registered)
                return;
        /* Read only when no call is open and nothing complete is buffered: this keeps replies
         * in order and fds attached to the message they came with. */
        if (!l->call_open && !l->eof && !wire_in_has_message(&l->in))
                events |= EPOLLIN;
        if (!wire_out_empty(&l->out))
                events |= EPOLLOUT;
        if (events != l->events) {
                struct epoll_event ev = { .events = events, .data.ptr = l };

                if (epoll_ctl(l->server->epoll_fd, EPOLL_CTL_MOD, l->fd, &ev) >= 0)
                        l->events = events;
        }
}

/* Activity only stamps the time: moving the timer on every message would reorder sd-event's
 * timer queue once per call, for a timeout counted in minutes. The timer, when it fires, looks
 * at the stamp and sleeps again for what is left. */
static void link_idle_rearm(vl_link *l)
{
        if (l->idle)
                (void)sd_event_now(l->server->event, CLOCK_MONOTONIC, &l->last_activity);
}

static void link_process(vl_link *l)
{
        _cleanup_(vl_link_unrefp) _unused_ vl_link *ref = vl_link_ref(l);

        while (!l->closed && !l->call_open) {
                _cleanup_json_ json_object *msg = NULL;
                int *fds = NULL;
                size_t n_fds = 0;
                int r;

                r = wire_in_next(&l->in, &msg, &fds, &n_fds);
                if (r == 0)
                        break;
                if (r > 0)
                        r = link_handle_message(l, msg, fds, n_fds);
                if (r < 0) {
                        log_debug_errno(r, "varlink: protocol error from pid %d, closing: %m",
                                        (int)l->peer.pid);
                        vl_link_close(l);
                        return;
                }
                link_idle_rearm(l);
        }
        if (l->closed)
                return;
        if (l->eof && !l->call_open && wire_out_empty(&l->out)) {
                vl_link_close(l);
                return;
        }
        link_update_events(l);
}

static void link_on_io(vl_link *l, uint32_t revents)
{
        int r;

        if (revents & EPOLLOUT && link_flush(l) < 0)
                return;

        if (revents & EPOLLIN && !l->call_open && !wire_in_has_message(&l->in)) {
                r = wire_in_read(&l->in, l->fd);
                if (r == 0)
                        l->eof = true;
                else if (r < 0 && r != -EAGAIN) {
                        if (r == -EMSGSIZE)
                                log_warning("varlink: pid %d sent a message over %zu bytes, "
                                            "closing connection",
                                            (int)l->peer.pid, l->in.max_message);
                        else
                                log_debug_errno(r, "varlink: read from pid %d failed: %m",
                                                (int)l->peer.pid);
                        vl_link_close(l);
                        return;
                }
        }
        /* Half-closed: what the peer sent is still to be read once the open call ends; stop
         * asking for RDHUP so the level-triggered event does not spin meanwhile. */
        if (revents & EPOLLRDHUP)
                l->rdhup = true;
        /* Gone for good: nobody will read a reply, so an open call (a Monitor stream, say)
         * ends here. Without one, buffered calls are still served (oneway ones matter) until
         * the read side reports end of file. */
        if (revents & (EPOLLHUP | EPOLLERR) && l->call_open) {
                vl_link_close(l);
                return;
        }
        link_process(l);
}

static int server_on_epoll(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        vl_server *s = userdata;
        struct epoll_event ev[64];
        int n = epoll_wait(s->epoll_fd, ev, (int)ELEMENTSOF(ev), 0);

        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        /* All referenced first: serving one may close another listed after it. */
        for (int i = 0; i < n; i++)
                vl_link_ref(ev[i].data.ptr);
        for (int i = 0; i < n; i++) {
                vl_link *l = ev[i].data.ptr;

                if (!l->closed)
                        link_on_io(l, ev[i].events);
        }
        for (int i = 0; i < n; i++)
                vl_link_unref(ev[i].data.ptr);
        return 0;
}

static int link_on_defer(sd_event_source *source, void *userdata)
{
        link_process(userdata);
        return 0;
}

static int link_on_idle(sd_event_source *source, uint64_t usec, void *userdata)
{
        vl_link *l = userdata;
        uint64_t t = l->server->limits.idle_timeout_usec;

        if (l->call_open)
                link_idle_rearm(l);
        if (l->call_open || l->last_activity + t > usec) {
                sd_event_source_set_time(source, l->last_activity + t);
                sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
                return 0;
        }
        log_debug("varlink: closing idle connection of pid %d", (int)l->peer.pid);
        vl_link_close(l);
        return 0;
}

int vl_server_add_connection(vl_server *s, int fd, vl_link **ret)
{
        _cleanup_close_ int cfd = fd;
        uint64_t now = vl_boottime_ticks();
        vl_link *l;
        uid_count *c;
        vl_peer peer;
        int r;

        r = vl_peer_from_socket(cfd, now, &peer);
        if (r < 0)
                return log_debug_errno(r, "varlink: cannot identify peer, refusing: %m");

        if (s->n_links >= s->limits.connections_max) {
                vl_peer_done(&peer);
                log_warning("varlink: %u connections open, refusing pid %d", s->n_links,
                            (int)peer.pid);
                return -EUSERS;
        }
        c = uid_slot(s, peer.uid, true);
        if (!c) {
                vl_peer_done(&peer);
                return -ENOMEM;
        }
        if (c->n >= s->limits.connections_per_uid_max) {
                log_warning("varlink: uid %u has %u connections open, refusing pid %d",
                            (unsigned)peer.uid, c->n, (int)peer.pid);
                vl_peer_done(&peer);
                return -EUSERS;
        }

        l = calloc(1, sizeof(*l));
        if (!l) {
                vl_peer_done(&peer);
                return -ENOMEM;
        }
        *l = (vl_link){ .n_ref = 1, .server = s, .fd = TAKE_FD(cfd), .peer = peer };
        wire_in_init(&l->in, s->limits.message_size_max);
        wire_out_init(&l->out);
        c->n++;
        l->next = s->links;
        if (s->links)
                s->links->prev = l;
        s->links = l;
        s->n_links++;

        l->events = EPOLLIN | EPOLLRDHUP;
        r = epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, l->fd,
                      &(struct epoll_event){ .events = l->events, .data.ptr = l });
        r = r < 0 ? -errno : 0;
        l->registered = r >= 0;
        if (r >= 0)
                r = sd_event_add_defer(s->event, &l->defer, link_on_defer, l);
        if (r >= 0)
                r = sd_event_source_set_enabled(l->defer, SD_EVENT_OFF);
        if (r >= 0 && s->limits.idle_timeout_usec)
                /* The default accuracy (250 ms) would dwarf short timeouts. */
                r = sd_event_add_time_relative(s->event, &l->idle, CLOCK_MONOTONIC,
                                               s->limits.idle_timeout_usec,
                                               s->limits.idle_timeout_usec / 8, link_on_idle, l);
        link_idle_rearm(l);
        if (r < 0) {
                vl_link_close(l);
                return r;
        }
        if (s->connect_cb)
                s->connect_cb(l, s->userdata);
        if (ret)
                *ret = l;
        return 0;
}
