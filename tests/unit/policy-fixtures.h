/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the policy tests share: policies written with ' for ", two users and root, four devices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "tests.h"

static inline char *json(const char *s)
{
        char *j = strdup(s);

        ASSERT_TRUE(j);
        for (char *c = j; *c; c++)
                if (*c == '\'')
                        *c = '"';
        return j;
}

static inline int parse(policy *p, const char *file, const char *text, char **error)
{
        _cleanup_free_ char *j = json(text);

        return policy_parse(j, strlen(j), file, p, error);
}

static inline policy *parse_ok(const char *text)
{
        policy *p = policy_new();
        char *error = NULL;
        int r;

        ASSERT_TRUE(p);
        r = parse(p, "50-test.json", text, &error);
        if (r < 0)
                fprintf(stderr, "unexpected: %s\n", error ?: "(no message)");
        ASSERT_OK(r);
        ASSERT_TRUE(error == NULL);
        return p;
}

static inline void parse_fails(const char *text, int expected_errno, const char *expected_message)
{
        _cleanup_(policy_freep) policy *p = policy_new();
        _cleanup_free_ char *error = NULL;

        ASSERT_ERROR(parse(p, "50-vms.json", text, &error), expected_errno);
        if (expected_message)
                ASSERT_STREQ(error, expected_message);
        else
                ASSERT_TRUE(error != NULL);
        ASSERT_EQ(policy_n_rules(p), 0);
}

static const gid_t alice_gids[] = { 1000, 36 };
static const char *const alice_groups[] = { "alice", "kvm" };
_unused_ static const policy_subject alice = {
        .uid = 1000,
        .user = "alice",
        .gids = alice_gids,
        .n_gids = 2,
        .group_names = alice_groups,
        .n_group_names = 2,
        .unit = "vm@web.service",
};
static const gid_t bob_gids[] = { 1001 };
static const char *const bob_groups[] = { "bob" };
_unused_ static const policy_subject bob = {
        .uid = 1001,
        .user = "bob",
        .gids = bob_gids,
        .n_gids = 1,
        .group_names = bob_groups,
        .n_group_names = 1,
        .unit = "session-3.scope",
};
_unused_ static const policy_subject root = { .uid = 0, .user = "root" };

_unused_ static const policy_device nic0 = { "0000:03:00.0", "0x8086", "0x10d3", "0x020000" };
_unused_ static const policy_device nic1 = { "0000:03:00.1", "0x8086", "0x10d3", "0x020000" };
_unused_ static const policy_device gpu = { "0000:01:00.0", "0x10de", "0x2204", "0x030000" };
_unused_ static const policy_device nvme = { "0000:02:00.0", "0x144d", "0xa808", "0x010802" };

static inline bool allowed(const policy *p, const policy_subject *s, const policy_device *d)
{
        policy_verdict v;

        ASSERT_OK(policy_check(p, s, d, POLICY_ACQUIRE, 1, &v));
        return v.allowed;
}

static inline bool rule_grants(const char *rule, const policy_subject *s, const policy_device *d)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_(policy_freep) policy *p = NULL;

        ASSERT_TRUE(asprintf(&text, "{'rules': [%s]}", rule) > 0);
        p = parse_ok(text);
        return allowed(p, s, d);
}

#define ACQUIRE_RULE(subjects, devices)                                                            \
        "{'name': 'r', 'subjects': " subjects ", " devices " 'allow': ['acquire']}"
