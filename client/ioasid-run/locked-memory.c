/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "locked-memory.h"
#include "macro.h"

#define SIZE_MAX_BYTES (UINT64_C(1) << 62)

int locked_memory_parse(const char *s, unsigned default_shift, uint64_t *ret)
{
        static const char units[] = "KMGT";
        unsigned shift = default_shift;
        const char *p = s;
        uint64_t v = 0;

        if (!s || *p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > (SIZE_MAX_BYTES - (uint64_t)(*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t)(*p - '0');
        }
        if (*p) {
                const char *u = strchr(units, *p & ~0x20);

                if (!u || p[1])
                        return -EINVAL;
                shift = 10 * (unsigned)(u - units + 1);
        }
        if (v > SIZE_MAX_BYTES >> shift)
                return -ERANGE;
        *ret = v << shift;
        return 0;
}

/* -m's value: "64", "64M", "size=64M,slots=2,maxmem=1G". */
static int qemu_ram(const char *value, uint64_t *ret)
{
        char buf[64];
        size_t n;

        if (strncmp(value, "size=", 5) == 0)
                value += 5;
        else if (strchr(value, '='))
                return -EINVAL; /* slots=..,size=..: unusual enough to ask for --locked-memory */
        n = strcspn(value, ",");
        if (n == 0 || n >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, value, n);
        buf[n] = 0;
        return locked_memory_parse(buf, 20, ret);
}

int locked_memory_for_qemu(char *const *argv, uint64_t *ret)
{
        const char *base = strrchr(argv[0], '/');
        uint64_t ram = QEMU_DEFAULT_RAM;
        int r;

        base = base ? base + 1 : argv[0];
        if (strncmp(base, "qemu-system-", 12) != 0)
                return -ENOENT;
        /* The last -m wins, as in QEMU. */
        for (size_t i = 1; argv[i]; i++) {
                const char *v = NULL;

                if (streq(argv[i], "-m") || streq(argv[i], "--m"))
                        v = argv[++i];
                else if (strncmp(argv[i], "-m=", 3) == 0)
                        v = argv[i] + 3;
                if (!argv[i])
                        return -EINVAL;
                if (!v)
                        continue;
                r = qemu_ram(v, &ram);
                if (r < 0)
                        return r;
        }
        *ret = ram + LOCKED_MEMORY_MARGIN;
        return 0;
}
