/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "placeholder.h"

static const struct {
        const char *prefix; /* up to and including ':' or the closing brace */
        unsigned kind;
} kinds[] = {
        { "{iommufd}", PLACEHOLDER_IOMMUFD },
        { "{device:", PLACEHOLDER_DEVICE },
        { "{group:", PLACEHOLDER_GROUP },
        { "{path:", PLACEHOLDER_PATH },
};

/* The placeholder at s, if one starts there: its kind, its length, and its address. */
static unsigned match(const char *s, size_t *ret_len, const char **ret_addr, size_t *ret_addr_len)
{
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                size_t n = strlen(kinds[i].prefix);
                const char *end;

                if (strncmp(s, kinds[i].prefix, n) != 0)
                        continue;
                if (kinds[i].kind == PLACEHOLDER_IOMMUFD) {
                        *ret_len = n;
                        *ret_addr = NULL;
                        *ret_addr_len = 0;
                        return kinds[i].kind;
                }
                end = strchr(s + n, '}');
                if (!end || end == s + n)
                        return 0;
                *ret_addr = s + n;
                *ret_addr_len = (size_t)(end - (s + n));
                *ret_len = (size_t)(end - s) + 1;
                return kinds[i].kind;
        }
        return 0;
}

unsigned placeholder_kinds(const char *s)
{
        unsigned all = 0;

        for (; *s; s++) {
                const char *addr;
                size_t len, addr_len;
                unsigned k = match(s, &len, &addr, &addr_len);

                all |= k;
                if (k)
                        s += len - 1;
        }
        return all;
}

static const run_grant *find(const run_facts *f, const char *addr, size_t len)
{
        for (size_t i = 0; i < f->n_grants; i++)
                if (strlen(f->grants[i].address) == len &&
                    strncmp(f->grants[i].address, addr, len) == 0)
                        return &f->grants[i];
        return NULL;
}

/* What one placeholder becomes, into buf (for numbers) or as a borrowed string. */
static int fill(unsigned kind, const run_grant *g, const run_facts *f, char *buf, size_t size,
                const char **ret)
{
        int fd = -1;

        switch (kind) {
        case PLACEHOLDER_IOMMUFD:
                fd = f->iommufd;
                break;
        case PLACEHOLDER_DEVICE:
                fd = g->device_fd;
                break;
        case PLACEHOLDER_GROUP:
                fd = g->group_fd;
                break;
        case PLACEHOLDER_PATH:
                if (!g->path)
                        return -ENODATA;
                *ret = g->path;
                return 0;
        }
        if (fd < 0)
                return -ENODATA;
        snprintf(buf, size, "%d", fd);
        *ret = buf;
        return 0;
}

int placeholder_expand(const char *s, const run_facts *f, char **ret, const char **ret_bad)
{
        _cleanup_free_ char *out = NULL;
        size_t size = 0;
        FILE *stream = open_memstream(&out, &size);
        int r = 0;

        if (!stream)
                return -ENOMEM;
        for (const char *p = s; *p && r == 0; p++) {
                const run_grant *g = NULL;
                const char *addr, *value;
                size_t len, addr_len;
                char buf[16];
                unsigned k = match(p, &len, &addr, &addr_len);

                if (!k) {
                        fputc(*p, stream);
                        continue;
                }
                if (addr && !(g = find(f, addr, addr_len)))
                        r = -ENOENT;
                else
                        r = fill(k, g, f, buf, sizeof(buf), &value);
                if (r < 0) {
                        if (ret_bad)
                                *ret_bad = p;
                        break;
                }
                fputs(value, stream);
                p += len - 1;
        }
        if (fclose(stream) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}
