/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_all(const policy *p)
{
        static const gid_t gids[] = { 1000, 36 };
        static const char *const groups[] = { "alice", "kvm" };
        const policy_subject subjects[] = {
                { .uid = 1000,
                  .user = "alice",
                  .gids = gids,
                  .n_gids = 2,
                  .group_names = groups,
                  .n_group_names = 2,
                  .unit = "vm@a.service" },
                /* Unknown user and unit: the fail-closed paths. */
                { .uid = 1001 },
        };
        const policy_device devices[] = {
                { "0000:03:00.0", "0x8086", "0x10d3", "0x020000" },
                { "0000:03:00.1", NULL, "0x10d3", NULL },
                { "10000:e1:00.7", "garbage", "0x1", "0x030000" },
        };
        policy_verdict v;

        for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
                for (size_t j = 0; j < sizeof(devices) / sizeof(devices[0]); j++)
                        for (int a = POLICY_ACQUIRE; a <= POLICY_MANAGED; a++)
                                if (policy_check(p, &subjects[i], &devices[j], (policy_action)a,
                                                 (unsigned)j + 1, &v) < 0 ||
                                    strlen(v.reason) == 0 || (v.allowed && !v.rule))
                                        abort();
                if (policy_check_group(p, &subjects[i], &devices[0], devices, 3, POLICY_ACQUIRE, 3,
                                       &v) < 0 ||
                    policy_check_admin(p, &subjects[i], &v) < 0)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        policy *p;
        char *error = NULL, *copy;
        int r;

        if (size > POLICY_FILE_SIZE_MAX + 1)
                return 0;
        /* An exact-size copy without a terminating NUL: the parser must respect len. */
        copy = malloc(size ?: 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);

        p = policy_new();
        if (!p)
                abort();
        r = policy_parse(copy, size, "fuzz.json", p, &error);
        if (r < 0) {
                /* Every refusal but out-of-memory explains itself, and leaves nothing behind. */
                if ((r != -ENOMEM && !error) || policy_n_rules(p) != 0)
                        abort();
        } else {
                if (error)
                        abort();
                check_all(p);
                /* A second copy of the same file: named rules now collide. */
                r = policy_parse(copy, size, "fuzz-2.json", p, &error);
                if (r >= 0)
                        check_all(p);
        }
        free(error);
        policy_free(p);
        free(copy);
        return 0;
}
