/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Peer identity. A kernel without SO_PEERPIDFD, or one where it fails, is played with a seccomp
 * filter in a child process, so both paths run on any kernel. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer.h"
#include "tests.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static void pair(int sv[2])
{
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
}

/* Runs fn in a child whose getsockopt(SO_PEERPIDFD) fails with err; the child's exit status is
 * the test's verdict. */
static void with_peerpidfd_failing(int err, void (*fn)(void))
{
        pid_t pid = fork();
        int status;

        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
                /* Spelled out: SCMP_A1() trips clang's -Wmissing-field-initializers. */
                struct scmp_arg_cmp level = { .arg = 1, .op = SCMP_CMP_EQ, .datum_a = SOL_SOCKET },
                                    name = { .arg = 2, .op = SCMP_CMP_EQ, .datum_a = SO_PEERPIDFD };

                ASSERT_TRUE(ctx != NULL);
                ASSERT_OK(seccomp_rule_add(ctx, SCMP_ACT_ERRNO((unsigned)err), SCMP_SYS(getsockopt),
                                           2, level, name));
                ASSERT_OK(seccomp_load(ctx));
                seccomp_release(ctx);
                fn();
                _exit(0);
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(identity)
{
        vl_peer p;
        int sv[2];

        pair(sv);
        ASSERT_OK(vl_peer_from_socket(sv[0], &p));
        ASSERT_EQ(p.uid, getuid());
        ASSERT_EQ(p.gid, getgid());
        ASSERT_EQ(p.pid, getpid());
        ASSERT_TRUE(p.pidfd >= 0);
        ASSERT_TRUE(fcntl(p.pidfd, F_GETFD) & FD_CLOEXEC);
        vl_peer_done(&p);
        ASSERT_EQ(p.pidfd, -EBADF);
        close(sv[0]);
        close(sv[1]);
}

static void no_peerpidfd(void)
{
        vl_peer p;
        int sv[2];

        /* Without SO_PEERPIDFD a pidfd could only come from the pid, which may be another
         * process by now: none is handed out, and the uid still is. */
        pair(sv);
        ASSERT_OK(vl_peer_from_socket(sv[0], &p));
        ASSERT_EQ(p.uid, getuid());
        ASSERT_EQ(p.pidfd, -EBADF);
        vl_peer_done(&p);
        close(sv[0]);
        close(sv[1]);
}

TEST(kernel_without_peerpidfd)
{
        with_peerpidfd_failing(ENOPROTOOPT, no_peerpidfd);
}

static void peerpidfd_fails(void)
{
        vl_peer p;
        int sv[2];

        pair(sv);
        ASSERT_ERROR(vl_peer_from_socket(sv[0], &p), ESRCH);
        close(sv[0]);
        close(sv[1]);
}

TEST(peerpidfd_failing_refuses)
{
        with_peerpidfd_failing(ESRCH, peerpidfd_fails);
}

int main(void)
{
        RUN(identity);
        RUN(kernel_without_peerpidfd);
        RUN(peerpidfd_failing_refuses);
        return 0;
}
