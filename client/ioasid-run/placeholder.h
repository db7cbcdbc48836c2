/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The placeholders of ioasid-run's command line: {iommufd}, {device:ADDR}, {group:ADDR} and
 * {path:ADDR}, anywhere inside an argument ("fd={iommufd}"). Anything else in braces is left
 * as it is, so a VMM's own JSON arguments pass through untouched. */

#include <stddef.h>

enum {
        PLACEHOLDER_IOMMUFD = 1u << 0,
        PLACEHOLDER_DEVICE = 1u << 1,
        PLACEHOLDER_GROUP = 1u << 2,
        PLACEHOLDER_PATH = 1u << 3,
};

typedef struct run_grant {
        const char *address;
        int device_fd;    /* the cdev (iommufd backend); -1 if none */
        int group_fd;     /* the group fd (legacy backend); -1 if none */
        const char *path; /* path mode: the group node; NULL otherwise */
} run_grant;

typedef struct run_facts {
        int iommufd; /* iommufd, or the legacy container; -1 in path mode */
        const run_grant *grants;
        size_t n_grants;
} run_facts;

/* The kinds of placeholder s uses (PLACEHOLDER_* bits). */
unsigned placeholder_kinds(const char *s);

/* s with every placeholder replaced. On a placeholder that cannot be filled, returns -ENOENT
 * (an address not among the grants) or -ENODATA (no such fd or path in this mode), and
 * *ret_bad (when not NULL) points at that placeholder inside s. */
int placeholder_expand(const char *s, const run_facts *f, char **ret, const char **ret_bad);
