/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit trail's message ids: one per kind, well-formed, distinct, and each documented in
 * the catalog the package installs (given as argv[1]). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "audit.h"
#include "tests.h"

int main(int argc, char **argv)
{
        char catalog[65536];
        size_t n;
        FILE *f;

        ASSERT_TRUE(argc == 2);
        f = fopen(argv[1], "re");
        ASSERT_TRUE(f);
        n = fread(catalog, 1, sizeof(catalog) - 1, f);
        catalog[n] = 0;
        fclose(f);

        for (int k = 0; k < _AUDIT_KIND_MAX; k++) {
                const char *id = audit_message_id((audit_kind)k);
                char entry[64];

                ASSERT_TRUE(id);
                ASSERT_EQ(strlen(id), 32);
                for (const char *c = id; *c; c++)
                        ASSERT_TRUE(isxdigit((unsigned char)*c) && !isupper((unsigned char)*c));
                for (int j = 0; j < k; j++)
                        ASSERT_TRUE(strcmp(id, audit_message_id((audit_kind)j)) != 0);
                snprintf(entry, sizeof(entry), "\n-- %s\n", id);
                ASSERT_TRUE(strstr(catalog, entry));
        }
        ASSERT_TRUE(!audit_message_id(_AUDIT_KIND_MAX));

        /* Without a journal (or with one) an entry with every field and one with none are sent
         * or dropped without harm. */
        audit(AUDIT_GRANT, LOG_INFO, "grant", .lease = "0123", .device = "0000:00:03.1",
              .driver = "vfio-pci", .error = "none", .group = AUDIT_ID(0), .uid = AUDIT_ID(0),
              .by_uid = AUDIT_ID(1000), .pid = AUDIT_ID(1));
        audit(AUDIT_REFUSE, LOG_NOTICE, "refuse");
        return 0;
}
