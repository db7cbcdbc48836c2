/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-holders.h"
#include "tests.h"

/* A child that opens path (or not) and waits to be killed; ready says it is there. */
static pid_t child(const char *path, int ready)
{
        pid_t pid = fork();

        if (pid == 0) {
                int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

                if ((path && fd < 0) || write(ready, "x", 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        return pid;
}

/* Only the processes that have the node open are killed, never the caller, though it has the
 * node open too. */
TEST(kills_who_holds)
{
        char dir[] = "/tmp/test-fd-holders-XXXXXX", path[64], other[64], c;
        int pipe_fds[2], status, own;
        struct stat node;
        pid_t holder, other_holder, bystander;

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/node", dir);
        snprintf(other, sizeof(other), "%s/other", dir);
        ASSERT_OK(close(open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)));
        ASSERT_OK(close(open(other, O_RDWR | O_CREAT | O_CLOEXEC, 0600)));
        ASSERT_OK(stat(path, &node));
        ASSERT_OK(pipe2(pipe_fds, O_CLOEXEC));
        holder = child(path, pipe_fds[1]);
        other_holder = child(other, pipe_fds[1]);
        bystander = child(NULL, pipe_fds[1]);
        for (int i = 0; i < 3; i++)
                ASSERT_EQ(read(pipe_fds[0], &c, 1), 1);
        /* Opened after the forks: the children have only what they opened themselves. */
        own = open(path, O_RDONLY | O_CLOEXEC);
        ASSERT_OK(own);

        ASSERT_EQ(fd_holders_kill(&node, 1, "test"), 1);
        ASSERT_EQ(waitpid(holder, &status, 0), holder);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        /* The others are still there. */
        ASSERT_EQ(waitpid(other_holder, &status, WNOHANG), 0);
        ASSERT_EQ(waitpid(bystander, &status, WNOHANG), 0);
        /* Nothing holds it now but the caller. */
        ASSERT_EQ(fd_holders_kill(&node, 1, "test"), 0);
        ASSERT_EQ(fd_holders_kill(&node, 0, "test"), 0);

        kill(other_holder, SIGKILL);
        kill(bystander, SIGKILL);
        waitpid(other_holder, NULL, 0);
        waitpid(bystander, NULL, 0);
        close(own);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        unlink(path);
        unlink(other);
        rmdir(dir);
}

int main(void)
{
        RUN(kills_who_holds);
        return 0;
}
