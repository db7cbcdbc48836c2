/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "worker.h"

struct worker {
        pid_t pid;
        int pidfd;
        sd_event_source *exit_source, *timer;
        bool reaped;
        bool detached; /* freed by its user: the loop reaps it and frees it */
        void (*done)(int result, void *userdata);
        void *userdata;
};

static worker *worker_destroy(worker *w)
{
        /* Out of the loop's epoll set before the fd is closed: other workers forked meanwhile
         * hold copies of it, so closing alone would leave it registered, pointing at a source
         * that is gone. */
        sd_event_source_disable_unref(w->exit_source);
        sd_event_source_disable_unref(w->timer);
        safe_close(w->pidfd);
        free(w);
        return NULL;
}

/* A detached worker's exit source is gone: reaped, or the loop itself is going away (the child
 * then is init's to reap). */
static void detached_free(void *userdata)
{
        worker *w = userdata;

        safe_close(w->pidfd);
        free(w);
}

worker *worker_free(worker *w)
{
        if (!w)
                return NULL;
        if (w->reaped || w->pidfd < 0)
                return worker_destroy(w);
        /* Killed, but never waited for here: a child in a vfio unbind is not ended by a signal,
         * it dies when the kernel's wait does, which the holder decides. It is reaped on the
         * loop when its pidfd says it is gone (on_child_exit); the loop owns it until then. */
        (void)syscall(SYS_pidfd_send_signal, w->pidfd, SIGKILL, NULL, 0);
        /* Not watched yet (worker_start failed): left for init once the daemon is gone. */
        if (!w->exit_source)
                return worker_destroy(w);
        w->done = NULL;
        w->detached = true;
        w->timer = sd_event_source_disable_unref(w->timer);
        if (sd_event_source_set_floating(w->exit_source, true) < 0)
                return worker_destroy(w);
        /* Fails only for a source that is not one. */
        (void)sd_event_source_set_destroy_callback(w->exit_source, detached_free);
        /* The loop's reference is the only one now. */
        sd_event_source_unref(TAKE_PTR(w->exit_source));
        return NULL;
}

static void finish(worker *w, int result)
{
        void (*done)(int, void *) = w->done;
        void *userdata = w->userdata;

        w->done = NULL;
        worker_free(w);
        if (done)
                done(result, userdata);
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        worker *w = userdata;
        siginfo_t si = {};
        int result;

        if (waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED) < 0)
                result = -errno;
        else if (si.si_code == CLD_EXITED)
                result = -si.si_status;
        else
                result = -EINTR;
        w->reaped = true;
        if (w->detached) {
                /* Dropping the loop's reference, the last one, frees w (detached_free). */
                (void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
                (void)sd_event_source_set_floating(s, false);
                return 0;
        }
        finish(w, result);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        finish(userdata, -ETIME);
        return 0;
}

/* The child keeps stdio and keep_fd only: a copy of a client's socket or a lease's pidfd in a
 * child that may live for seconds would hold them open after the daemon closed them. */
static void close_all_but(int keep_fd)
{
        if (keep_fd > 3)
                (void)close_range(3, (unsigned)keep_fd - 1, 0);
        (void)close_range((unsigned)MAX(keep_fd, 2) + 1, ~0U, 0);
}

int worker_start(sd_event *event, int (*fn)(void *userdata),
                 void (*done)(int result, void *userdata), void *userdata, uint64_t timeout_usec,
                 int keep_fd, worker **ret)
{
        worker *w = calloc(1, sizeof(*w));
        int r;

        if (!w)
                return -ENOMEM;
        w->pidfd = -EBADF;
        w->done = done;
        w->userdata = userdata;
        w->pid = fork();
        if (w->pid < 0) {
                r = -errno;
                free(w);
                return r;
        }
        if (w->pid == 0) {
                close_all_but(keep_fd);
                r = fn(userdata);
                /* Exit statuses are 8 bits: errnos fit. */
                _exit(r < 0 ? MIN(-r, 255) : 0);
        }
        w->pidfd = (int)syscall(SYS_pidfd_open, w->pid, 0);
        r = w->pidfd < 0 ? -errno : 0;
        if (r >= 0)
                r = sd_event_add_io(event, &w->exit_source, w->pidfd, EPOLLIN, on_child_exit, w);
        if (r >= 0 && timeout_usec > 0)
                r = sd_event_add_time_relative(event, &w->timer, CLOCK_MONOTONIC, timeout_usec, 0,
                                               on_timeout, w);
        if (r < 0) {
                /* Killed, not waited for: it may be in fn already, in an unbind that no signal
                 * ends. Without a pidfd it stays a zombie until the daemon exits (fd exhaustion
                 * only); with one, worker_free hands it to the loop. */
                if (w->pidfd < 0)
                        (void)kill(w->pid, SIGKILL);
                w->done = NULL;
                worker_free(w);
                return r;
        }
        *ret = w;
        return 0;
}
