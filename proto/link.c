/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Connections: their lifetime, their socket I/O on the server's epoll set, and their timers. */
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

/* Calls served back to back on one connection before the others get their turn. */
#define LINK_CALLS_PER_TURN 16u

static void link_process(vl_link *l);
static void link_update_events(vl_link *l);

/* ---- connections ---- */

vl_link *vl_link_ref(vl_link *l)
{
        if (l)
                l->n_ref++;
        return l;
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
        l->fds_timer = sd_event_source_disable_unref(l->fds_timer);
        l->fd = safe_close(l->fd);
        call_clear(l);
        wire_out_done(&l->out);
        wire_in_done(&l->in);
        budget_close(s, &l->charge);

        if (l->prev)
                l->prev->next = l->next;
        else
                s->links = l->next;
        if (l->next)
                l->next->prev = l->prev;
        l->prev = l->next = NULL;
        s->n_links--;
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
        return l->call_method ? json_object_get_string(l->call_method) : NULL;
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

/* Charges the connection's uid with what the connection holds now: fds that came with calls
 * not yet ended or wait with a partial message, fds queued to go out, and buffered bytes. */
static int link_charge(vl_link *l)
{
        return budget_charge_set(l->server, &l->charge, l->in.n_fds + l->n_call_fds + l->out.n_fds,
                                 l->in.alloc + l->out.bytes);
}

/* After the connection took more: closes it when that took its uid over budget. */
static int link_charge_more(vl_link *l)
{
        int r = link_charge(l);

        if (r < 0) {
                log_warning("varlink: uid %u is over its budget of %s with pid %d's connection "
                            "(%zu fds, %zu bytes across its connections), closing it",
                            (unsigned)l->peer.uid, r == -EMFILE ? "fds" : "buffered bytes",
                            (int)l->peer.pid, l->charge.budget->fds, l->charge.budget->bytes);
                vl_link_close(l);
                return -ENOTCONN;
        }
        return 0;
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
        if (link_charge_more(l) < 0)
                return -ENOTCONN;
        if (!l->serving)
                link_update_events(l);
        return 0;
}

int link_send(vl_link *l, const wire_member *members, size_t n_members, bool with_fds)
{
        int *fds = NULL;
        size_t n = 0;
        int r;

        if (with_fds) {
                fds = TAKE_PTR(l->push_fds);
                n = l->n_push_fds;
                l->n_push_fds = 0;
        }
        r = wire_out_push_members(&l->out, members, n_members, fds, n);
        if (r < 0) {
                log_warning_errno(r, "varlink: cannot queue reply to pid %d, closing: %m",
                                  (int)l->peer.pid);
                vl_link_close(l);
                return -ENOTCONN;
        }
        return link_flush(l);
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

static int link_on_fds_timeout(sd_event_source *source, uint64_t usec, void *userdata)
{
        vl_link *l = userdata;

        log_warning("varlink: pid %d sent %zu fds with a message it did not finish, closing "
                    "connection",
                    (int)l->peer.pid, l->in.n_fds);
        vl_link_close(l);
        return 0;
}

/* fds wait for the end of their message only so long: a peer may open a message with 253 fds
 * and never end it, on as many connections as it may have. */
static void link_update_fds_timer(vl_link *l)
{
        uint64_t t = l->server->limits.pending_fds_timeout_usec;
        bool pending = l->in.n_fds > 0 && !wire_in_has_message(&l->in);

        if (!pending) {
                l->fds_timer = sd_event_source_disable_unref(l->fds_timer);
                return;
        }
        if (l->fds_timer)
                return;
        if (sd_event_add_time_relative(l->server->event, &l->fds_timer, CLOCK_MONOTONIC, t, t / 8,
                                       link_on_fds_timeout, l) < 0) {
                log_warning("varlink: cannot time pid %d's pending fds, closing connection",
                            (int)l->peer.pid);
                vl_link_close(l);
        }
}

static void link_process(vl_link *l)
{
        _cleanup_(vl_link_unrefp) _unused_ vl_link *ref = vl_link_ref(l);
        unsigned served = 0;

        l->serving = true;
        while (!l->closed && !l->call_open) {
                int r;

                /* A peer that pipelines many calls gets the rest on a later loop turn, after
                 * the other connections had theirs. */
                if (served++ >= LINK_CALLS_PER_TURN) {
                        if (l->defer && wire_in_has_message(&l->in))
                                (void)sd_event_source_set_enabled(l->defer, SD_EVENT_ONESHOT);
                        break;
                }
                r = call_serve_next(l);
                if (r == 0)
                        break;
                if (r < 0) {
                        log_debug_errno(r, "varlink: protocol error from pid %d, closing: %m",
                                        (int)l->peer.pid);
                        l->serving = false;
                        vl_link_close(l);
                        return;
                }
                link_idle_rearm(l);
        }
        l->serving = false;
        if (l->closed)
                return;
        if (l->eof && !l->call_open && wire_out_empty(&l->out)) {
                vl_link_close(l);
                return;
        }
        /* Messages served and calls ended give back what they held. */
        (void)link_charge(l);
        link_update_fds_timer(l);
        if (l->closed)
                return;
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
                if (link_charge_more(l) < 0)
                        return;
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

int server_on_epoll(sd_event_source *source, int fd, uint32_t revents, void *userdata)
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
        budget_charge charge;
        vl_link *l;
        vl_peer peer;
        int r;

        r = vl_peer_from_socket(cfd, &peer);
        if (r < 0)
                return log_debug_errno(r, "varlink: cannot identify peer, refusing: %m");

        if (s->n_links >= s->limits.connections_max) {
                vl_peer_done(&peer);
                log_warning("varlink: %u connections open, refusing pid %d", s->n_links,
                            (int)peer.pid);
                return -EUSERS;
        }
        l = calloc(1, sizeof(*l));
        r = l ? budget_open(s, peer.uid, &charge) : -ENOMEM;
        if (r < 0) {
                if (r == -EUSERS)
                        log_warning("varlink: uid %u has %u connections open, refusing pid %d",
                                    (unsigned)peer.uid, s->limits.connections_per_uid_max,
                                    (int)peer.pid);
                vl_peer_done(&peer);
                free(l);
                return r;
        }
        *l = (vl_link){
                .n_ref = 1, .server = s, .fd = TAKE_FD(cfd), .peer = peer, .charge = charge
        };
        wire_in_init(&l->in, s->limits.message_size_max);
        wire_out_init(&l->out);
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
