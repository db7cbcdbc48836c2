/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Listening sockets: the ones the service manager passed, or a path bound here. Accepted
 * connections go to vl_server_add_connection(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "server-internal.h"

/* How long accepting pauses when the process is out of fds or memory. */
#define ACCEPT_PAUSE_USEC (250u * 1000u)

static void listeners_enable(vl_server *s, int enabled)
{
        for (size_t i = 0; i < s->n_listeners; i++)
                (void)sd_event_source_set_enabled(s->listeners[i].source, enabled);
}

static int accept_on_resume(sd_event_source *source, uint64_t usec, void *userdata)
{
        listeners_enable(userdata, SD_EVENT_ON);
        return 0;
}

/* The pending connection stays in the backlog, so the listener would be ready again on the
 * very next loop turn: out of fds, that is a loop that spins and logs for as long as the
 * shortage lasts. Pause instead, and say so once until a connection gets through again. */
static void accept_pause(vl_server *s, int error)
{
        int r;

        if (!s->accept_warned)
                log_warning_errno(error, "varlink: cannot accept connections, pausing: %m");
        s->accept_warned = true;
        if (s->accept_timer)
                r = sd_event_source_set_time_relative(s->accept_timer, ACCEPT_PAUSE_USEC);
        else
                r = sd_event_add_time_relative(s->event, &s->accept_timer, CLOCK_MONOTONIC,
                                               ACCEPT_PAUSE_USEC, ACCEPT_PAUSE_USEC / 4,
                                               accept_on_resume, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->accept_timer, SD_EVENT_ONESHOT);
        /* Without a timer to end it, a pause would be for good: keep accepting then. */
        if (r >= 0)
                listeners_enable(s, SD_EVENT_OFF);
}

static int listener_on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        vl_server *s = userdata;

        /* Drain the backlog, bounded so one burst cannot starve the loop. */
        for (int i = 0; i < 64; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                            errno == ENOMEM)
                                accept_pause(s, errno);
                        else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_warning_errno(errno, "varlink: accept failed: %m");
                        break;
                }
                s->accept_warned = false;
                (void)vl_server_add_connection(s, cfd, NULL);
        }
        return 0;
}

int vl_server_listen_fd(vl_server *s, int fd)
{
        listener *n;
        int r;

        n = reallocarray(s->listeners, s->n_listeners + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        s->listeners = n;
        n = &s->listeners[s->n_listeners];
        *n = (listener){ .fd = fd };
        r = sd_event_add_io(s->event, &n->source, fd, EPOLLIN, listener_on_io, s);
        if (r < 0)
                return r;
        s->n_listeners++;
        return 0;
}

static bool socket_is_live(const struct sockaddr_un *sa)
{
        _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        return probe >= 0 && connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
}

int vl_server_listen_path(vl_server *s, const char *path, mode_t mode)
{
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        mode_t old;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        /* A stale socket from a previous run is in the way; a live one is not ours to take. */
        if (socket_is_live(&sa))
                return -EADDRINUSE;
        (void)unlink(path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        /* The mode is the socket node's from birth: no window in which it is more open. */
        old = umask(~mode & 0777);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return negative_errno();
        if (chmod(path, mode) < 0 || listen(fd, SOMAXCONN) < 0)
                return negative_errno();
        r = vl_server_listen_fd(s, fd);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return 0;
}

int vl_server_listen_auto(vl_server *s, const char *path, mode_t mode)
{
        int n = sd_listen_fds(true), r;

        if (n < 0)
                return n;
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;

                if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0)
                        return log_error_errno(EINVAL,
                                               "fd %d from the service manager is not a "
                                               "listening UNIX stream socket",
                                               fd);
                r = fd_nonblock(fd, true);
                if (r < 0)
                        return r;
                r = vl_server_listen_fd(s, fd);
                if (r < 0)
                        return r;
        }
        if (n > 0)
                return n;
        r = vl_server_listen_path(s, path, mode);
        return r < 0 ? r : 1;
}
