/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "json-cleanup.h"
#include "log.h"
#include "memlock.h"

static int error_permission(vl_link *link, const char *reason)
{
        _cleanup_json_ json_object *p = json_object_new_object();

        if (!p || json_object_object_add(p, "reason", json_object_new_string(reason)) < 0)
                return -ENOMEM;
        return vl_link_error(link, "io.ioasid.Broker.PermissionDenied", TAKE_PTR(p)) ?: 1;
}

/* "16 GiB", "65792 KiB", "12345 bytes": what an admin wrote, as near as it goes. */
static void format_size(char *buf, size_t size, uint64_t bytes)
{
        static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
        unsigned i = 0;

        while (i + 1 < sizeof(units) / sizeof(units[0]) && bytes >= 1024 && bytes % 1024 == 0) {
                bytes /= 1024;
                i++;
        }
        snprintf(buf, size, "%" PRIu64 " %s", bytes, units[i]);
}

static int allowed_max(daemon_state *m, const policy_subject *s, uint64_t *ret_max,
                       const char **ret_rule)
{
        if (!s) {
                *ret_max = UINT64_MAX;
                *ret_rule = NULL;
                return 0;
        }
        if (!m->policy) {
                *ret_max = 0;
                *ret_rule = NULL;
                return 0;
        }
        return policy_locked_memory_max(m->policy, s, ret_max, ret_rule);
}

static int prlimit_failed(vl_link *link, pid_t pid, int r)
{
        log_error_errno(r, "Cannot change the locked-memory limit of %d: %m", (int)pid);
        if (r != -EPERM)
                return r;
        /* Said to the caller: its request was fine, the daemon lacks the privilege. */
        return error_permission(link, "the broker may not change the holder's locked-memory "
                                      "limit (it needs CAP_SYS_RESOURCE)");
}

static bool alive(int pidfd)
{
        return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) >= 0;
}

int memlock_raise(vl_link *link, daemon_state *m, const policy_subject *s, int pidfd, pid_t pid,
                  uint64_t bytes)
{
        struct rlimit old, want;
        const char *rule;
        char reason[256], a[32], b[32];
        uint64_t max;
        int r;

        if (bytes == 0)
                return 0;
        r = allowed_max(m, s, &max, &rule);
        if (r < 0)
                return r;
        if (bytes > max) {
                format_size(a, sizeof(a), bytes);
                format_size(b, sizeof(b), max);
                if (rule)
                        snprintf(reason, sizeof(reason),
                                 "locked memory of %s asked; rule \"%s\" allows at most %s", a,
                                 rule, b);
                else
                        snprintf(reason, sizeof(reason),
                                 "locked memory of %s asked; no rule grants uid %u any "
                                 "(maxLockedMemory)",
                                 a, (unsigned)s->uid);
                return error_permission(link, reason);
        }
        if (pidfd < 0 || pid <= 0 || !alive(pidfd))
                return error_permission(link, "the holder process is gone");
        if (prlimit(pid, RLIMIT_MEMLOCK, NULL, &old) < 0)
                return prlimit_failed(link, pid, -errno);
        /* Only ever raised: a holder that can lock more already keeps what it has. */
        want = (struct rlimit){
                .rlim_cur = old.rlim_cur != RLIM_INFINITY && old.rlim_cur < bytes ? bytes
                                                                                  : old.rlim_cur,
                .rlim_max = old.rlim_max != RLIM_INFINITY && old.rlim_max < bytes ? bytes
                                                                                  : old.rlim_max,
        };
        if (want.rlim_cur == old.rlim_cur && want.rlim_max == old.rlim_max)
                return 0;
        if (prlimit(pid, RLIMIT_MEMLOCK, &want, &old) < 0)
                return prlimit_failed(link, pid, -errno);
        /* The pid may have been reused between the check above and prlimit(): the pidfd pins
         * the holder, so if it is still alive now, the pid was still its own. */
        if (!alive(pidfd)) {
                (void)prlimit(pid, RLIMIT_MEMLOCK, &old, NULL);
                return error_permission(link, "the holder process is gone");
        }
        format_size(a, sizeof(a), bytes);
        log_info("AUDIT memlock pid=%d uid=%u: RLIMIT_MEMLOCK raised to %s%s%s.", (int)pid,
                 s ? (unsigned)s->uid : 0u, a, rule ? " by rule " : "", rule ?: "");
        return 0;
}
