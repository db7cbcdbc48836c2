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

static int listener_on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        vl_server *s = userdata;

        /* Drain the backlog, bounded so one burst cannot starve the loop. */
        for (int i = 0; i < 64; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_warning_errno(errno, "varlink: accept failed: %m");
                        break;
                }
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
