/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "budget.h"
#include "varlink.h"
#include "wire.h"

typedef struct listener {
        int fd;
        sd_event_source *source;
} listener;

struct vl_server {
        sd_event *event;
        vl_server_info info;
        vl_server_limits limits;
        void *userdata;
        void (*connect_cb)(vl_link *link, void *userdata);

        const vl_interface **interfaces;
        size_t n_interfaces;

        listener *listeners;
        size_t n_listeners;
        /* Out of fds, accepting is paused for a moment rather than retried on every loop turn;
         * warned: said so since the last connection accepted. */
        sd_event_source *accept_timer;
        bool accept_warned;

        /* The connections' sockets sit in an epoll set of their own, one source in the event
         * loop: sd-event re-polls every ready source per dispatch, which with a thousand busy
         * connections costs a thousand events per call. */
        int epoll_fd;
        sd_event_source *epoll_source;

        vl_link *links; /* doubly linked list of open connections */
        unsigned n_links;
        budget *budgets; /* one per uid with connections open */
};

struct vl_link {
        unsigned n_ref;
        vl_server *server;
        vl_link *prev, *next;

        int fd;
        bool registered; /* in the server's epoll set */
        uint32_t events; /* what it is registered for */
        sd_event_source *defer, *idle;
        sd_event_source *fds_timer; /* fds held for a message not yet complete */
        budget_charge charge;
        uint64_t last_activity; /* CLOCK_MONOTONIC of the last message either way */
        wire_in in;
        wire_out out;
        vl_peer peer;
        bool closed, eof, rdhup;
        /* Inside link_process(): it serves what follows a call that ends and sets the epoll
         * interest once at the end, so a call answered at once costs no epoll_ctl() and no
         * extra loop turn. */
        bool serving;

        /* The call being served. */
        bool call_open;
        unsigned call_flags;
        json_object *call_method; /* a string */
        int *call_fds;
        size_t n_call_fds;
        int *push_fds;
        size_t n_push_fds;

        void *userdata;
        void (*disconnect_cb)(vl_link *link, void *userdata);
};

/* org.varlink.service, answered by every server. */
extern const vl_interface vl_service_interface;
int vl_server_find_method(vl_server *s, const char *method, const vl_interface **ret_iface,
                          const vl_method **ret_method);

/* link.c */
int server_on_epoll(sd_event_source *source, int fd, uint32_t revents, void *userdata);
/* Queues the message of these members and writes what the socket takes; with_fds: the pushed
 * fds go along. -ENOTCONN when that closed the connection. */
int link_send(vl_link *l, const wire_member *members, size_t n_members, bool with_fds);

/* call.c */
/* Serves the next message buffered: 1 when there was one, 0 when none is complete, a negative
 * errno for a protocol error (close). */
int call_serve_next(vl_link *l);
void call_clear(vl_link *l);
