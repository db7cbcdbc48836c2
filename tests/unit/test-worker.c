/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
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

TEST(freed_before_the_end)
{
        sd_event *e;
        int left = 1;
        job j = { .ms = 10000, .left = &left };
        worker *w;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(worker_start(e, sleep_then_return, done, &j, 0, -1, &w));
        worker_free(w);
        ASSERT_EQ(sd_event_run(e, 100 * 1000), 0);
        ASSERT_EQ(j.seen, 0);
        sd_event_unref(e);
}

int main(void)
{
        RUN(many_at_once);
        RUN(timeout_kills);
        RUN(freed_before_the_end);
        return 0;
}
