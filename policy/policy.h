/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who may acquire which PCI devices. Pure: no I/O except reading the policy directory, no
 * logging, no globals, so a policy can be loaded aside and swapped in atomically.
 *
 * Default deny. uid 0 may do everything. Everyone else gets exactly what an "allow" rule grants,
 * unless any matching "deny" rule refuses it: deny wins regardless of file order. See README.md
 * in this directory for the language.
 *
 * Refusals are verdicts, not errors: the check functions return 0 and fill a policy_verdict
 * (allowed or not, which rule decided, a reason an admin can read). A negative errno means the
 * call itself was wrong (NULL arguments). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

#define POLICY_RULES_MAX     4096u
#define POLICY_FILES_MAX     1024u
#define POLICY_FILE_SIZE_MAX (1024u * 1024u)
#define POLICY_REASON_MAX    512u

typedef struct policy policy;

typedef enum policy_action {
        POLICY_ACQUIRE, /* receive fds for a device (and its IOMMU group) */
        POLICY_MANAGED, /* let the daemon bind the device to vfio-pci; grants nothing else */
        POLICY_ADMIN,   /* call io.ioasid.Admin; not per device */
        _POLICY_ACTION_MAX,
} policy_action;

/* The peer as the daemon resolved it. NULL for user or unit means "could not be determined":
 * such an attribute never satisfies an allow rule that names it, and always satisfies a deny
 * rule that names it, so a lookup failure can only ever refuse. gids holds the primary and
 * supplementary gids, group_names their names as far as they resolve. */
typedef struct policy_subject {
        uid_t uid;
        const char *user;
        const gid_t *gids;
        size_t n_gids;
        const char *const *group_names;
        size_t n_group_names;
        const char *unit; /* systemd unit of the peer: the caller, who gets the fds */
} policy_subject;

/* Strings as sysfs shows them: address "0000:03:00.1", vendor "0x8086", device "0x10d3",
 * class "0x020000". address is required; vendor, device, class_ may be NULL (unknown), with the
 * same fail-closed meaning as in policy_subject. */
typedef struct policy_device {
        const char *address;
        const char *vendor;
        const char *device;
        const char *class_;
} policy_device;

/* rule: the deciding rule's name, or "rules[N]" for an unnamed rule; NULL when no rule decided
 * (root, or nothing matched). file: the rule's file name. Both borrow from the policy and stay
 * valid until it is freed: copy them before a reload can swap the policy out. */
typedef struct policy_verdict {
        bool allowed;
        const char *rule;
        const char *file;
        char reason[POLICY_REASON_MAX];
} policy_verdict;

policy *policy_new(void);
policy *policy_free(policy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(policy *, policy_free);

/* Loads every "*.json" in dir (hidden files and other names skipped) in strcmp() order of the
 * names. Returns 0 and a complete new policy in *ret, or a negative errno with *ret untouched,
 * so the caller keeps the policy it has. A missing dir is an empty policy (everyone but root
 * denied). The directory and the files must not be writable by others (anyone could grant
 * themselves anything: -EPERM), and files must be regular. Other errors: -EINVAL for a bad
 * policy, -E2BIG over the limits, the errno of a failed open or read, -ENOMEM. ret_error
 * (optional) gets a malloc'd message naming file, rule and field; it may be NULL after -ENOMEM. */
int policy_load_dir(const char *dir, policy **ret, char **ret_error);

/* Appends the rules of one file's text (need not be NUL-terminated) to into. filename is only
 * used in messages and verdicts. On error into is unchanged; errors as for policy_load_dir. */
int policy_parse(const char *text, size_t len, const char *filename, policy *into,
                 char **ret_error);

size_t policy_n_rules(const policy *p);

/* Which of a subject's looked-up attributes some rule names: the caller may leave the others
 * unset (NULL, none), as no rule reads them. Resolving a user name, group names or a unit costs
 * NSS and cgroup lookups a policy of uids and gids never needs. */
enum {
        POLICY_NEEDS_USER = 1 << 0,
        POLICY_NEEDS_GROUP_NAMES = 1 << 1,
        POLICY_NEEDS_UNIT = 1 << 2,
};
unsigned policy_subject_needs(const policy *p);

/* a is POLICY_ACQUIRE or POLICY_MANAGED. n_would_hold: how many devices the subject would hold
 * in all if this is granted (already held plus this request); checked against maxDevices. */
int policy_check(const policy *p, const policy_subject *s, const policy_device *d, policy_action a,
                 unsigned n_would_hold, policy_verdict *ret);

/* As policy_check for requested, and then for each other device of its IOMMU group that would
 * go to the same owner (leave out bridges the kernel tolerates in a viable group): the whole
 * group is the unit of ownership, so one refused member refuses the request, and the reason
 * names that member. group_members may include requested itself (matched by address). */
int policy_check_group(const policy *p, const policy_subject *s, const policy_device *requested,
                       const policy_device *group_members, size_t n_group_members, policy_action a,
                       unsigned n_would_hold, policy_verdict *ret);

/* The most locked memory (RLIMIT_MEMLOCK, bytes) s may have the daemon give a holder of its:
 * the largest "maxLockedMemory" of the rules that allow s "acquire" (whatever their devices:
 * the limit is the process's, not a device's); UINT64_MAX for uid 0; 0 when no rule grants
 * any. *ret_rule (optional) names the rule that grants it, as in a verdict, or NULL. */
int policy_locked_memory_max(const policy *p, const policy_subject *s, uint64_t *ret_max,
                             const char **ret_rule);

/* Whether s may use io.ioasid.Admin. */
int policy_check_admin(const policy *p, const policy_subject *s, policy_verdict *ret);

const char *policy_action_to_string(policy_action a) _pure_;
