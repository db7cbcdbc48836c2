/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Everything that turns sysfs text into values: attribute cleaning, names, numbers, PCI
 * addresses, symlink resolution, a device's uevent attribute, and the viability verdict over
 * whatever drivers that yields. Input: lines. The first is also the directory a link sits in, the
 * second its target; each line is tried as every kind of value; lines of the form "ADDRESS
 * DRIVER" become group members; the whole input is a uevent attribute. Checked invariants:
 * resolution never leaves the root nor keeps "." or ".." components; cleaned text is printable;
 * a parsed uevent gives ids in the attributes' form and a valid driver name or none; the verdict
 * is viable exactly when it has no reasons. */
#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pci-address.h"
#include "sysfs.h"
#include "viability.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_resolved(const char *p)
{
        const char *c = p;

        assert(p[0] != '/');
        while (*c) {
                size_t n = strcspn(c, "/");

                assert(n > 0);
                assert(!(n == 1 && c[0] == '.'));
                assert(!(n == 2 && c[0] == '.' && c[1] == '.'));
                c += n;
                c += *c == '/';
        }
}

static void one_value(char *s, size_t len)
{
        char copy[SYSFS_ATTR_MAX + 1];
        int v, r;
        dev_t d;

        if (len <= SYSFS_ATTR_MAX) {
                memcpy(copy, s, len);
                r = sysfs_attr_clean(copy, len);
                if (r >= 0) {
                        assert((size_t)r <= len && copy[r] == 0);
                        for (int i = 0; i < r; i++)
                                assert(copy[i] >= 0x20 && copy[i] < 0x7f);
                }
        }
        (void)sysfs_name_valid(s);
        if (sysfs_parse_group(s, &v) >= 0)
                assert(v >= 0);
        if (sysfs_parse_uint(s, &v) >= 0)
                assert(v >= 0);
        (void)sysfs_parse_devnum(s, &d);
        (void)sysfs_id_valid(s, 4);
        (void)sysfs_id_valid(s, 6);
        if (pci_address_valid(s, len)) {
                char back[PCI_ADDRESS_SIZE];

                assert(len == PCI_ADDRESS_LEN);
                pci_address_unpack(pci_address_pack(s), back);
                assert(memcmp(back, s, PCI_ADDRESS_LEN) == 0);
        }
}

static void one_uevent(const uint8_t *data, size_t size)
{
        sysfs_device d = { .address = "0000:00:02.0" };

        if (sysfs_parse_pci_uevent((const char *)data, size, &d) < 0)
                return;
        assert(sysfs_id_valid(d.vendor, 4) && sysfs_id_valid(d.device, 4) &&
               sysfs_id_valid(d.class, 6));
        assert(d.driver[0] ? sysfs_name_valid(d.driver) && !d.driver_unknown : true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *buf, *lines[64], dir[PATH_MAX], resolved[PATH_MAX];
        viability_member members[64];
        size_t n_lines = 0, n_members = 0;
        viability v;

        log_set_max_level(LOG_CRIT);
        if (size > 64 * 1024)
                return 0;
        one_uevent(data, size);
        buf = malloc(size + 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = 0;

        /* Lines are NUL-terminated in place; an embedded NUL ends a line early, like C does. */
        for (char *p = buf; p <= buf + size && n_lines < ELEMENTSOF(lines);) {
                char *nl = memchr(p, '\n', (size_t)(buf + size - p));

                lines[n_lines++] = p;
                if (!nl)
                        break;
                *nl = 0;
                p = nl + 1;
        }
        for (size_t i = 0; i < n_lines; i++)
                one_value(lines[i], strlen(lines[i]));

        /* The daemon resolves against real, clean directory paths: make the first line one. */
        if (n_lines >= 2 && sysfs_link_resolve("", lines[0], dir, sizeof(dir)) >= 0) {
                check_resolved(dir);
                if (sysfs_link_resolve(dir, lines[1], resolved, sizeof(resolved)) >= 0)
                        check_resolved(resolved);
        }

        for (size_t i = 0; i < n_lines; i++) {
                char *sp = strchr(lines[i], ' ');

                if (!sp)
                        continue;
                *sp = 0;
                members[n_members++] = (viability_member){
                        .address = lines[i],
                        .driver = streq(sp + 1, "-") ? NULL : sp + 1,
                        .missing = streq(sp + 1, "?"),
                };
        }
        if (viability_check(NULL,
                            &(viability_group){ .number = 1,
                                                .type = n_lines > 0 ? lines[0] : NULL,
                                                .members = members,
                                                .n_members = n_members,
                                                .n_foreign = n_lines % 3,
                                                .unreadable = n_lines % 5 == 1 },
                            &v) >= 0) {
                assert(v.viable == (v.n_reasons == 0));
                viability_done(&v);
        }
        free(buf);
        return 0;
}
