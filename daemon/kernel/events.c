/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libudev.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "macro.h"

#define BATCH_QUIET_USEC (10 * 1000)
#define BATCH_MAX_USEC   (100 * 1000)
#define PENDING_MAX      4096u
#define RCVBUF_SIZE      (8 * 1024 * 1024)

struct events {
        sd_event *event;
        const events_ops *ops;
        void *userdata;

        struct udev *udev;
        struct udev_monitor *monitor;
        sd_event_source *udev_source, *kernel_source, *socket_source, *timer;
        int kernel_fd, socket_fd;
        char *socket_path;

        char (*pending)[13];
        size_t n_pending, n_alloc;
        bool rescan;
        uint64_t batch_start;
};

int events_new(sd_event *event, const events_ops *ops, void *userdata, events **ret)
{
        events *ev = calloc(1, sizeof(*ev));

        if (!ev)
                return -ENOMEM;
        ev->event = sd_event_ref(event);
        ev->ops = ops;
        ev->userdata = userdata;
        ev->kernel_fd = ev->socket_fd = -EBADF;
        *ret = ev;
        return 0;
}

events *events_free(events *ev)
{
        if (!ev)
                return NULL;
        sd_event_source_disable_unref(ev->udev_source);
        sd_event_source_disable_unref(ev->kernel_source);
        sd_event_source_disable_unref(ev->socket_source);
        sd_event_source_disable_unref(ev->timer);
        if (ev->monitor)
                udev_monitor_unref(ev->monitor);
        if (ev->udev)
                udev_unref(ev->udev);
        safe_close(ev->kernel_fd);
        safe_close(ev->socket_fd);
        if (ev->socket_path)
                (void)unlink(ev->socket_path);
        free(ev->socket_path);
        free(ev->pending);
        sd_event_unref(ev->event);
        free(ev);
        return NULL;
}

void events_flush(events *ev)
{
        size_t n = ev->n_pending;

        if (ev->timer)
                sd_event_source_set_enabled(ev->timer, SD_EVENT_OFF);
        if (!ev->rescan && n == 0)
                return;
        ev->n_pending = 0;
        if (ev->rescan) {
                ev->rescan = false;
                ev->ops->rescan(ev->userdata);
        } else
                for (size_t i = 0; i < n; i++)
                        ev->ops->device(ev->pending[i], ev->userdata);
        if (ev->ops->flushed)
                ev->ops->flushed(ev->userdata);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        events_flush(userdata);
        return 0;
}

static void batch_arm(events *ev)
{
        uint64_t now, when;
        int r;

        (void)sd_event_now(ev->event, CLOCK_MONOTONIC, &now);
        if (!ev->timer || sd_event_source_get_enabled(ev->timer, NULL) <= 0)
                ev->batch_start = now;
        /* Wait for quiet, but not for ever: a steady stream still gets applied. */
        when = MIN(now + BATCH_QUIET_USEC, ev->batch_start + BATCH_MAX_USEC);
        if (!ev->timer) {
                r = sd_event_add_time(ev->event, &ev->timer, CLOCK_MONOTONIC, when, 1000, on_timer,
                                      ev);
                if (r < 0) {
                        log_warning_errno(r, "Cannot arm the event batch timer, applying now: %m");
                        events_flush(ev);
                }
                return;
        }
        (void)sd_event_source_set_time(ev->timer, when);
        (void)sd_event_source_set_enabled(ev->timer, SD_EVENT_ONESHOT);
}

void events_overflow(events *ev)
{
        log_notice("Device events were lost; scheduling a full rescan.");
        ev->rescan = true;
        ev->n_pending = 0;
        batch_arm(ev);
}

void events_feed(events *ev, const uevent *u)
{
        if (!u->address)
                return;
        log_debug("uevent %s %s driver=%s", u->subsystem, u->address, u->driver ?: "-");
        if (ev->rescan)
                return;
        for (size_t i = 0; i < ev->n_pending; i++)
                if (streq(ev->pending[i], u->address)) {
                        batch_arm(ev);
                        return;
                }
        if (ev->n_pending >= PENDING_MAX) {
                /* A storm this large is cheaper to take in with one scan. */
                ev->rescan = true;
                batch_arm(ev);
                return;
        }
        if (ev->n_pending == ev->n_alloc) {
                size_t n = MAX(ev->n_alloc * 2, (size_t)64);
                char(*p)[13] = reallocarray(ev->pending, n, sizeof(*p));

                if (!p) {
                        ev->rescan = true;
                        batch_arm(ev);
                        return;
                }
                ev->pending = p;
                ev->n_alloc = n;
        }
        memcpy(ev->pending[ev->n_pending++], u->address, 13);
        batch_arm(ev);
}

/* ---- udevd ---- */

static int on_udev(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        events *ev = userdata;

        for (int i = 0; i < 1024; i++) {
                struct udev_device *d;
                struct udev_device *parent;
                uevent u = {};
                const char *action, *sysname;

                errno = 0;
                d = udev_monitor_receive_device(ev->monitor);
                if (!d) {
                        if (errno == ENOBUFS)
                                events_overflow(ev);
                        break;
                }
                action = udev_device_get_action(d);
                u.action = streq(action, "add")      ? UEVENT_ADD
                           : streq(action, "remove") ? UEVENT_REMOVE
                           : streq(action, "bind")   ? UEVENT_BIND
                           : streq(action, "unbind") ? UEVENT_UNBIND
                           : streq(action, "change") ? UEVENT_CHANGE
                                                     : UEVENT_OTHER;
                u.devpath = udev_device_get_devpath(d);
                u.subsystem = udev_device_get_subsystem(d);
                u.driver = udev_device_get_driver(d);
                /* Same rule as for kernel messages: only a well-formed PCI address counts. */
                parent = streq(u.subsystem, "vfio-dev") ? udev_device_get_parent(d) : d;
                sysname = parent ? udev_device_get_sysname(parent) : NULL;
                if (sysname && uevent_address_valid(sysname, strlen(sysname)) &&
                    (streq(u.subsystem, "pci") || streq(u.subsystem, "vfio-dev"))) {
                        snprintf(u.parent, sizeof(u.parent), "%s", sysname);
                        u.address = u.parent;
                }
                events_feed(ev, &u);
                udev_device_unref(d);
        }
        return 0;
}

int events_listen_udev(events *ev)
{
        int r;

        ev->udev = udev_new();
        if (!ev->udev)
                return -ENOMEM;
        ev->monitor = udev_monitor_new_from_netlink(ev->udev, "udev");
        if (!ev->monitor)
                return -ENOMEM;
        r = udev_monitor_filter_add_match_subsystem_devtype(ev->monitor, "pci", NULL);
        if (r >= 0)
                r = udev_monitor_filter_add_match_subsystem_devtype(ev->monitor, "vfio-dev", NULL);
        if (r >= 0)
                (void)udev_monitor_set_receive_buffer_size(ev->monitor, RCVBUF_SIZE);
        if (r >= 0)
                r = udev_monitor_enable_receiving(ev->monitor);
        if (r >= 0)
                r = sd_event_add_io(ev->event, &ev->udev_source, udev_monitor_get_fd(ev->monitor),
                                    EPOLLIN, on_udev, ev);
        return r < 0 ? r : 0;
}

/* ---- kernel uevents ---- */

static void feed_buffer(events *ev, const char *buf, size_t len)
{
        uevent u;

        if (len == 9 && memcmp(buf, "@overflow", 9) == 0) {
                events_overflow(ev);
                return;
        }
        if (uevent_parse(buf, len, &u) < 0) {
                log_debug("Ignoring a malformed uevent of %zu bytes.", len);
                return;
        }
        events_feed(ev, &u);
}

static int on_kernel(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        events *ev = userdata;
        char buf[UEVENT_SIZE_MAX + 1];

        for (int i = 0; i < 1024; i++) {
                struct sockaddr_nl sa;
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
                struct msghdr mh = {
                        .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1
                };
                ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == ENOBUFS)
                                events_overflow(ev);
                        else if (errno != EAGAIN && errno != EINTR)
                                log_warning_errno(errno, "Reading kernel uevents failed: %m");
                        if (errno != ENOBUFS)
                                break;
                        continue;
                }
                /* Only the kernel speaks for devices; a root process in our network
                 * namespace could otherwise forge a bind. */
                if (sa.nl_pid != 0 || mh.msg_flags & MSG_TRUNC)
                        continue;
                feed_buffer(ev, buf, (size_t)n);
        }
        return 0;
}

int events_listen_kernel(events *ev)
{
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
        int size = RCVBUF_SIZE;

        ev->kernel_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                               NETLINK_KOBJECT_UEVENT);
        if (ev->kernel_fd < 0)
                return negative_errno();
        if (setsockopt(ev->kernel_fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(ev->kernel_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        if (bind(ev->kernel_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return negative_errno();
        return sd_event_add_io(ev->event, &ev->kernel_source, ev->kernel_fd, EPOLLIN, on_kernel,
                               ev);
}

/* ---- test injection ---- */

static int on_socket(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        events *ev = userdata;
        char buf[UEVENT_SIZE_MAX + 1];

        for (int i = 0; i < 1024; i++) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

                if (n < 0)
                        break;
                if ((size_t)n > sizeof(buf))
                        continue;
                feed_buffer(ev, buf, (size_t)n);
        }
        return 0;
}

int events_listen_socket(events *ev, const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int size = RCVBUF_SIZE;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        ev->socket_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (ev->socket_fd < 0)
                return negative_errno();
        (void)setsockopt(ev->socket_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        (void)unlink(path);
        if (bind(ev->socket_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return negative_errno();
        /* Injecting device events is a root matter. */
        if (chmod(path, 0600) < 0)
                return negative_errno();
        ev->socket_path = strdup(path);
        if (!ev->socket_path)
                return -ENOMEM;
        return sd_event_add_io(ev->event, &ev->socket_source, ev->socket_fd, EPOLLIN, on_socket,
                               ev);
}
