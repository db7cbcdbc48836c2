/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's sandbox: the seccomp allowlist lets the calls the daemon makes through and kills
 * (or, in log mode, lets through) any other; the capability drop keeps only the listed ones. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "tests.h"

/* Runs fn in a child; returns its wait status. */
static int in_child(int (*fn)(void *), void *userdata)
{
        pid_t pid = fork();
        int status;

        ASSERT_TRUE(pid >= 0);
        if (pid == 0)
                _exit(fn(userdata));
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        return status;
}

static int filtered_allowed_call(void *userdata)
{
        sandbox_config config = { .action = SANDBOX_KILL };
        int p[2];

        if (sandbox_install_seccomp(&config) < 0)
                return 10;
        /* What the event loop and a worker do. */
        if (getpid() <= 0 || pipe2(p, O_CLOEXEC) < 0 || write(p[1], "x", 1) != 1)
                return 11;
        if (fork() == 0)
                _exit(0);
        if (wait(NULL) < 0)
                return 12;
        return 0;
}

/* setns: nothing the daemon does, and harmless if it were let through (fd -1). */
static int filtered_forbidden_call(void *userdata)
{
        sandbox_config config = { .action = *(sandbox_action *)userdata };

        if (sandbox_install_seccomp(&config) < 0)
                return 10;
        if (syscall(SYS_setns, -1, 0) < 0 && errno == EBADF)
                return 0; /* logged and let through: the kernel saw the bad fd */
        return 20;
}

static void test_seccomp(void)
{
        sandbox_action kill_action = SANDBOX_KILL, log_action = SANDBOX_LOG;
        int status;

        status = in_child(filtered_allowed_call, NULL);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);

        status = in_child(filtered_forbidden_call, &kill_action);
        ASSERT_TRUE(WIFSIGNALED(status));
        ASSERT_EQ(WTERMSIG(status), SIGSYS);

        status = in_child(filtered_forbidden_call, &log_action);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
}

static int dropped(void *userdata)
{
        if (sandbox_drop_capabilities() < 0)
                return 10;
        if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0 ||
            prctl(PR_CAPBSET_READ, CAP_SYS_PTRACE, 0, 0, 0) != 0)
                return 11;
        if (prctl(PR_CAPBSET_READ, CAP_KILL, 0, 0, 0) != 1 ||
            prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0) != 1)
                return 12;
        /* Gone from the effective set too: mknod of a device node is refused. */
        if (mknod("/dev/null-sandbox-test", S_IFCHR | 0600, makedev(1, 3)) == 0) {
                unlink("/dev/null-sandbox-test");
                return 13;
        }
        return errno == EPERM ? 0 : 14;
}

static void test_capabilities(void)
{
        int status;

        if (prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) != 1 || geteuid() != 0) {
                printf("capabilities: not root with CAP_SETPCAP, skipped\n");
                return;
        }
        status = in_child(dropped, NULL);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
}

static void test_env(void)
{
        sandbox_action a;

        ASSERT_OK(unsetenv("IOASID_SECCOMP"));
        ASSERT_OK(sandbox_action_from_env(&a));
        ASSERT_EQ(a, SANDBOX_KILL);
        setenv("IOASID_SECCOMP", "log", 1);
        ASSERT_OK(sandbox_action_from_env(&a));
        ASSERT_EQ(a, SANDBOX_LOG);
        setenv("IOASID_SECCOMP", "kill", 1);
        ASSERT_OK(sandbox_action_from_env(&a));
        ASSERT_EQ(a, SANDBOX_KILL);
        setenv("IOASID_SECCOMP", "off", 1);
        ASSERT_ERROR(sandbox_action_from_env(&a), EINVAL);
        unsetenv("IOASID_SECCOMP");
}

int main(void)
{
        test_env();
        test_seccomp();
        test_capabilities();
        return 0;
}
