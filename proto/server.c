/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The server: its limits, its interfaces, and finding a method by name. Connections are in
 * link.c, serving calls on them in call.c. */
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

static const vl_server_limits default_limits = {
        .connections_max = 4096,
        .connections_per_uid_max = 1024,
        .message_size_max = VL_SERVER_MESSAGE_SIZE_MAX,
        .queued_bytes_max = WIRE_MESSAGE_SIZE_MAX,
        .idle_timeout_usec = 5ull * 60 * 1000000,
        .fds_per_uid_max = 1024,
        .bytes_per_uid_max = 64u * 1024u * 1024u,
        .pending_fds_timeout_usec = 5ull * 1000000,
};

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
        budgets_free(s);
        sd_event_source_disable_unref(s->accept_timer);
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
        if (!s->limits.fds_per_uid_max)
                s->limits.fds_per_uid_max = default_limits.fds_per_uid_max;
        if (!s->limits.bytes_per_uid_max)
                s->limits.bytes_per_uid_max = default_limits.bytes_per_uid_max;
        if (!s->limits.pending_fds_timeout_usec)
                s->limits.pending_fds_timeout_usec = default_limits.pending_fds_timeout_usec;
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
