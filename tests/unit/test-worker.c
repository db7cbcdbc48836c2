/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests.h"
#include "worker.h"

typedef struct job {
        int ms, result;
        int seen;
        int *left;
} job;

static int sleep_then_return(void *userdata)
{
        job *j = userdata;

        usleep((useconds_t)j->ms * 1000);
        return j->result;
}

static void done(int result, void *userdata)
{
        job *j = userdata;

        j->seen = result == 0 ? 1 : result;
        (*j->left)--;
}

static int count_fds(void)
{
        int n = 0;

        for (int fd = 0; fd < 1024; fd++)
                n += fcntl(fd, F_GETFD) >= 0;
        return n;
}

/* Several workers at once, the first to start ending first: every later child was forked with
 * a copy of the earlier ones' pidfds, so an end that closed its pidfd before taking it out of
 * the loop's epoll set left it registered there, pointing at a freed source (sd-event aborted
 * in process_epoll; seen with seven VF leases ending together). */
TEST(many_at_once)
{
        sd_event *e;
        job jobs[8];
        worker *w[8];
        int left = 8, before = count_fds();

        ASSERT_OK(sd_event_new(&e));
        for (int i = 0; i < 8; i++) {
                jobs[i] = (job){ .ms = 20 * (i + 1), .result = i % 2 ? -EIO : 0, .left = &left };
                ASSERT_OK(worker_start(e, sleep_then_return, done, &jobs[i], 0, -1, &w[i]));
        }
        while (left > 0)
                ASSERT_OK(sd_event_run(e, 5 * 1000 * 1000));
        for (int i = 0; i < 8; i++)
                ASSERT_EQ(jobs[i].seen, i % 2 ? -EIO : 1);
        /* Nothing more comes from any of them. */
        ASSERT_EQ(sd_event_run(e, 200 * 1000), 0);
        sd_event_unref(e);
        ASSERT_EQ(count_fds(), before);
}

TEST(timeout_kills)
{
        sd_event *e;
        int left = 1;
        job j = { .ms = 10000, .left = &left };
        worker *w;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(worker_start(e, sleep_then_return, done, &j, 100 * 1000, -1, &w));
        while (left > 0)
                ASSERT_OK(sd_event_run(e, 5 * 1000 * 1000));
        ASSERT_EQ(j.seen, -ETIME);
        sd_event_unref(e);
}

static int write_pid_then_sleep(void *userdata)
{
        int *pipe_fds = userdata;
        pid_t pid = getpid();

        if (write(pipe_fds[1], &pid, sizeof(pid)) != sizeof(pid))
                return -EIO;
        pause();
        return 0;
}

static bool reaped(pid_t pid)
{
        siginfo_t si = {};

        return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

/* worker_free must not wait for the child: one blocked in a vfio unbind is not ended by
 * SIGKILL, it dies when the holder closes the device, and waiting for that on the main loop
 * let any user with a managed grant stop the daemon. The child is reaped from the loop, and done
 * is not called. */
TEST(freed_before_the_end)
{
        sd_event *e;
        int left = 1, pipe_fds[2], before;
        worker *w;
        pid_t pid;
        siginfo_t si = {};

        ASSERT_OK(pipe2(pipe_fds, O_CLOEXEC));
        before = count_fds();
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(worker_start(e, write_pid_then_sleep, done, pipe_fds, 0, pipe_fds[1], &w));
        ASSERT_EQ(read(pipe_fds[0], &pid, sizeof(pid)), (ssize_t)sizeof(pid));
        worker_free(w);
        /* Not reaped by worker_free: it is there to be waited for (WNOWAIT leaves it). */
        ASSERT_OK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT));
        ASSERT_EQ(si.si_pid, pid);
        /* The loop reaps it. */
        for (int i = 0; i < 1000 && !reaped(pid); i++)
                ASSERT_OK(sd_event_run(e, 5 * 1000 * 1000));
        ASSERT_TRUE(reaped(pid));
        ASSERT_EQ(left, 1);
        sd_event_unref(e);
        ASSERT_EQ(count_fds(), before);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
}

/* A loop that goes away with a freed worker not yet reaped frees what it held. */
TEST(freed_then_loop_gone)
{
        sd_event *e;
        int left = 1, before = count_fds();
        job j = { .ms = 10000, .left = &left };
        worker *w;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(worker_start(e, sleep_then_return, done, &j, 0, -1, &w));
        worker_free(w);
        sd_event_unref(e);
        ASSERT_EQ(left, 1);
        ASSERT_EQ(count_fds(), before);
        (void)waitpid(-1, NULL, 0);
}

int main(void)
{
        RUN(many_at_once);
        RUN(timeout_kills);
        RUN(freed_before_the_end);
        RUN(freed_then_loop_gone);
        return 0;
}
