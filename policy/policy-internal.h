/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The compiled form of a policy, shared by the parser and the evaluator. Every list is either
 * absent (n == 0) or non-empty: the parser refuses empty lists, so "present" and "non-empty"
 * are one test. */

#include <stdint.h>

#include "policy.h"

_Static_assert(sizeof(uid_t) == sizeof(uint32_t) && sizeof(gid_t) == sizeof(uint32_t),
               "uid_t and gid_t are 32 bits on Linux");

#define POLICY_LIST_MAX   1024u
#define POLICY_STRING_MAX 256u
#define POLICY_NAME_MAX   128u

/* ID_ANY in either half of a vendor:device pattern matches every value. */
#define POLICY_ID_ANY (-1)

typedef struct policy_id {
        int32_t vendor;
        int32_t device;
} policy_id;

typedef struct policy_rule {
        char *name;       /* NULL when the rule has none */
        char *id;         /* name, or "rules[N]": what verdicts and messages report */
        const char *file; /* borrowed from policy.files */

        bool any_subject;
        uint32_t *uids; /* uid_t and gid_t: one parser for both */
        size_t n_uids;
        char **users;
        size_t n_users;
        char **groups;
        size_t n_groups;
        uint32_t *gids;
        size_t n_gids;
        char **units;
        size_t n_units;

        char **addresses;
        size_t n_addresses;
        policy_id *ids;
        size_t n_ids;
        char **classes;
        size_t n_classes;

        unsigned allow; /* bit (1u << policy_action) per action */
        unsigned deny;
        unsigned max_devices;       /* 0: no limit */
        uint64_t max_locked_memory; /* bytes; 0: grants none */
} policy_rule;

struct policy {
        policy_rule *rules;
        size_t n_rules;
        unsigned subject_needs; /* POLICY_NEEDS_* of all rules, kept as rules are added */
        char **files;           /* names of the files the rules came from, for policy_rule.file */
        size_t n_files;
};

void policy_rule_done(policy_rule *r);

/* The POLICY_NEEDS_* of one rule: the looked-up attributes of a subject it names. */
static inline unsigned policy_rule_subject_needs(const policy_rule *r)
{
        return (r->n_users > 0 ? POLICY_NEEDS_USER : 0) |
               (r->n_groups > 0 ? POLICY_NEEDS_GROUP_NAMES : 0) |
               (r->n_units > 0 ? POLICY_NEEDS_UNIT : 0);
}

static inline bool policy_rule_has_devices(const policy_rule *r)
{
        return r->n_addresses > 0 || r->n_ids > 0 || r->n_classes > 0;
}

/* Sizes in the policy fit an rlim_t with room to spare. */
#define POLICY_SIZE_MAX (UINT64_C(1) << 62)

/* "65536", "64K", "512M", "4g", "1T" (binary units) in bytes: 0, -EINVAL for anything else,
 * -ERANGE above POLICY_SIZE_MAX. */
int policy_size_from_string(const char *s, uint64_t *ret);

/* "8086:10d3", "8086:*", case-insensitive: 0, or -EINVAL. */
int policy_id_from_string(const char *s, policy_id *ret);

/* A sysfs hex attribute such as "0x8086" as a number, or -1 when s is NULL or not one. */
int32_t policy_hex_from_sysfs(const char *s, uint32_t max);
