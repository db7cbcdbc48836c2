/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "sandbox.h"

/* Under a sanitizer or valgrind the tool shares the process and makes calls of its own (LSan
 * ptraces the threads at exit): a filter for the daemon would kill the tool. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_TOOL() true
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_TOOL() true
#endif
#endif
#if !defined(UNDER_TOOL) && __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_TOOL() (RUNNING_ON_VALGRIND != 0)
#endif
#ifndef UNDER_TOOL
#define UNDER_TOOL() false
#endif

/* The capabilities the daemon uses, and what for. CAP_SYS_ADMIN and CAP_SYS_PTRACE are not
 * among them: VFIO and iommufd ask for neither, and holders are reached through pidfds. */
static const int kept_caps[] = {
        CAP_CHOWN,        /* path mode: the group node goes to the lease's user */
        CAP_FOWNER,       /* path mode: and its mode is set, whoever owns it then */
        CAP_DAC_OVERRIDE, /* path mode: taking a node back from the user who owned it */
        CAP_KILL,         /* Revoke: a holder of another uid that does not let go */
        CAP_SYS_RESOURCE, /* iommufd: the memlock accounting mode of an address space */
};

/* What the daemon, glibc, libsystemd, libudev and json-c call once the daemon serves. Kept
 * generous within what a broker of fds does: no mount, module, ptrace, bpf, keyring, reboot,
 * namespace, clock or swap call is here. */
static const char *const allowed_syscalls[] = {
        /* memory */
        "brk",
        "mmap",
        "munmap",
        "mremap",
        "mprotect",
        "madvise",
        "mincore",
        /* files and sysfs */
        "read",
        "write",
        "readv",
        "writev",
        "pread64",
        "pwrite64",
        "preadv",
        "pwritev",
        "lseek",
        "open",
        "openat",
        "openat2",
        "close",
        "close_range",
        "dup",
        "dup2",
        "dup3",
        "fcntl",
        "ioctl",
        "fstat",
        "stat",
        "lstat",
        "newfstatat",
        "statx",
        "fstatfs",
        "statfs",
        "getdents64",
        "readlink",
        "readlinkat",
        "access",
        "faccessat",
        "faccessat2",
        "mkdir",
        "mkdirat",
        "unlink",
        "unlinkat",
        "rename",
        "renameat",
        "renameat2",
        "link",
        "linkat",
        "chmod", /* path mode: the group node through /proc/self/fd (no fchmod on O_PATH) */
        "fchmod",
        "fchmodat",
        "getxattr", /* path mode: the node's ACL, asked for and removed */
        "removexattr",
        "chown",
        "fchown",
        "fchownat",
        "lchown",
        "ftruncate",
        "fsync",
        "fdatasync",
        "flock",
        "umask",
        "getcwd",
        "name_to_handle_at",
        "memfd_create",
        "pipe2",
        "inotify_init1",
        "inotify_add_watch",
        "inotify_rm_watch",
        /* the event loop */
        "epoll_create1",
        "epoll_ctl",
        "epoll_wait",
        "epoll_pwait",
        "epoll_pwait2",
        "poll",
        "ppoll",
        "select",
        "pselect6",
        "timerfd_create",
        "timerfd_settime",
        "timerfd_gettime",
        "signalfd4",
        "eventfd2",
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigreturn",
        "rt_sigtimedwait",
        "sigaltstack",
        "restart_syscall",
        "clock_gettime",
        "clock_getres",
        "gettimeofday",
        "nanosleep",
        "clock_nanosleep",
        "futex",
        "sched_yield",
        "sched_getaffinity",
        /* sockets: varlink, udev's netlink monitor, the journal, sd_notify */
        "socket",
        "socketpair",
        "bind",
        "listen",
        "accept",
        "accept4",
        "connect",
        "shutdown",
        "getsockname",
        "getpeername",
        "getsockopt",
        "setsockopt",
        "sendmsg",
        "recvmsg",
        "sendmmsg",
        "recvmmsg",
        "sendto",
        "recvfrom",
        /* workers and holders */
        "clone",
        "clone3",
        "fork",
        "vfork",
        "wait4",
        "waitid",
        "exit",
        "exit_group",
        "kill",
        "tgkill",
        "tkill",
        "pidfd_open",
        "pidfd_send_signal",

        "prctl",
        /* identity and limits */
        "getpid",
        "getppid",
        "gettid",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "getresuid",
        "getresgid",
        "getgroups",
        "capget",
        "uname",
        "sysinfo",
        "getrandom",
        "prlimit64",
        "getrlimit",
        "set_robust_list",
        "get_robust_list",
        "rseq",
        "set_tid_address",
        "arch_prctl",
        "getpriority",
};

int sandbox_action_from_env(sandbox_action *ret)
{
        const char *v = getenv("IOASID_SECCOMP");

        if (!v || !*v || streq(v, "kill"))
                *ret = SANDBOX_KILL;
        else if (streq(v, "log"))
                *ret = SANDBOX_LOG;
        else
                return -EINVAL;
        return 0;
}

static bool kept(int cap)
{
        for (size_t i = 0; i < ELEMENTSOF(kept_caps); i++)
                if (kept_caps[i] == cap)
                        return true;
        return false;
}

int sandbox_drop_capabilities(void)
{
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
        int last = CAP_LAST_CAP;
        bool changed = false;

        /* The running kernel may know capabilities this header does not. */
        while (prctl(PR_CAPBSET_READ, (unsigned long)last + 1, 0, 0, 0) >= 0)
                last++;
        (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        for (int cap = 0; cap <= last; cap++) {
                if (kept(cap) || prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) != 1)
                        continue;
                /* Without CAP_SETPCAP (systemd took it) the bounding set is the unit's, and
                 * already smaller: what is left there is dropped below from the other sets. */
                if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0 && errno != EPERM)
                        return -errno;
        }
        if (syscall(SYS_capget, &header, data) < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(data); i++) {
                uint32_t keep = 0;

                for (size_t k = 0; k < ELEMENTSOF(kept_caps); k++)
                        if ((size_t)kept_caps[k] / 32 == i)
                                keep |= 1U << (kept_caps[k] % 32);
                if ((data[i].permitted | data[i].effective | data[i].inheritable) & ~keep)
                        changed = true;
                data[i].effective &= keep;
                data[i].permitted &= keep;
                data[i].inheritable = 0;
        }
        /* Under the unit there is nothing left to drop, and its filter refuses capset(). */
        if (changed && syscall(SYS_capset, &header, data) < 0)
                return -errno;
        return 0;
}

int sandbox_install_seccomp(const sandbox_config *config)
{
        uint32_t action = config->action == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
        scmp_filter_ctx ctx = seccomp_init(action);
        int r = 0;

        if (!ctx)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(allowed_syscalls) && r >= 0; i++) {
                int nr = seccomp_syscall_resolve_name(allowed_syscalls[i]);

                /* A name this architecture does not have (stat on arm64) is simply absent. */
                if (nr != __NR_SCMP_ERROR)
                        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        }
        /* Setting NO_NEW_PRIVS is the only way an unprivileged filter loads; as root it costs
         * nothing the daemon needs. */
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

int sandbox_apply(bool fake_kernel)
{
        sandbox_config config = {};
        int r;

        r = sandbox_action_from_env(&config.action);
        if (r < 0)
                return log_error_errno(r, "IOASID_SECCOMP takes kill or log.");
        if (fake_kernel) {
                /* The programs it runs play the kernel and would inherit the filter and the
                 * smaller capability sets: like the kernel, they must see every process's fds
                 * (the device-request wait of an unbind), which needs what we would drop. */
                log_info("--fake-kernel: capabilities and system calls left as they are.");
                return 0;
        }
        r = sandbox_drop_capabilities();
        if (r < 0)
                return log_error_errno(r, "Cannot drop capabilities: %m");
        if (UNDER_TOOL()) {
                log_info("Under a sanitizer or valgrind: no system call filter.");
                return 0;
        }
        r = sandbox_install_seccomp(&config);
        if (r < 0)
                return log_error_errno(r, "Cannot install the system call filter: %m");
        if (config.action == SANDBOX_LOG)
                log_warning("IOASID_SECCOMP=log: system calls outside the allowlist are logged, "
                            "not refused.");
        return 0;
}
