/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>

#include "policy-internal.h"

/* Binary units, as ulimit and systemd's LimitMEMLOCK= read them: "64M" is 64 MiB. */
int policy_size_from_string(const char *s, uint64_t *ret)
{
        static const char units[] = "KMGT";
        uint64_t v = 0;
        const char *p = s;

        if (!s || *p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > (POLICY_SIZE_MAX - (uint64_t)(*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t)(*p - '0');
        }
        if (*p) {
                unsigned shift = 0;

                for (unsigned i = 0; units[i]; i++)
                        if (*p == units[i] || *p == units[i] + ('a' - 'A'))
                                shift = 10 * (i + 1);
                if (!shift || p[1])
                        return -EINVAL;
                if (v > POLICY_SIZE_MAX >> shift)
                        return -ERANGE;
                v <<= shift;
        }
        *ret = v;
        return 0;
}
