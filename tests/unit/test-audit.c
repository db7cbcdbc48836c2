/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit trail's message ids: one per kind, well-formed, distinct, and each documented in
 * the catalog the package installs (given as argv[1]); the entries as the journal gets them,
 * read from a socket standing in for its own. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "audit.h"
#include "tests.h"

/* The next datagram on fd, as a string. */
static const char *next_entry(int fd)
{
        static char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

        ASSERT_TRUE(n >= 0);
        buf[n] = 0;
        return buf;
}

static void check_entries(void)
{
        char dir[] = "/tmp/ioasid-audit-XXXXXX", path[64], long_value[400];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *e;
        int fd;

        ASSERT_TRUE(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/journal", dir);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
        memset(long_value, 'x', sizeof(long_value) - 1);
        long_value[sizeof(long_value) - 1] = 0;
        ASSERT_ERROR(audit_open(long_value), ENAMETOOLONG);
        ASSERT_OK(audit_open(path));

        /* Every field, in the journal's native protocol; numbers as given (AUDIT_ID(0) is 0),
         * newlines as spaces. */
        audit(AUDIT_GRANT, LOG_INFO, "grant", .lease = "0123", .device = "0000:00:03.1",
              .driver = "vfio\npci", .error = "none", .group = AUDIT_ID(0),
              .uid = AUDIT_ID(4294967294LL), .by_uid = AUDIT_ID(1000), .pid = AUDIT_ID(-1));
        e = next_entry(fd);
        ASSERT_STREQ(e, "MESSAGE_ID=420c50e4ec274e69a3991a54062474fa\n"
                        "PRIORITY=6\n"
                        "SYSLOG_IDENTIFIER=ioasidd\n"
                        "IOASID_EVENT=grant\n"
                        "IOASID_LEASE=0123\n"
                        "IOASID_DEVICE=0000:00:03.1\n"
                        "IOASID_DRIVER=vfio pci\n"
                        "IOASID_ERROR=none\n"
                        "IOASID_GROUP=0\n"
                        "IOASID_UID=4294967294\n"
                        "IOASID_BY_UID=1000\n"
                        "MESSAGE=AUDIT grant lease=0123 device=0000:00:03.1 driver=vfio pci "
                        "error=none group=0 uid=4294967294 by_uid=1000\n");
        /* Absent fields are left out. */
        audit(AUDIT_REFUSE, LOG_NOTICE, "refuse\nd");
        e = next_entry(fd);
        ASSERT_STREQ(e, "MESSAGE_ID=dd62c30c2e384926a48233afb8f06ee1\n"
                        "PRIORITY=5\n"
                        "SYSLOG_IDENTIFIER=ioasidd\n"
                        "IOASID_EVENT=refuse\n"
                        "MESSAGE=AUDIT refuse d\n");
        /* A long value is cut to 159 bytes with its key, the message to 511. */
        long_value[300] = 0;
        audit(AUDIT_REVOKE, LOG_WARNING, long_value, .error = long_value, .pid = AUDIT_ID(7));
        e = next_entry(fd);
        ASSERT_TRUE(strstr(e, "\nIOASID_ERROR=xxx"));
        ASSERT_EQ(strchr(strstr(e, "\nIOASID_ERROR=") + 1, '\n') - strstr(e, "\nIOASID_ERROR="),
                  1 + 159);
        ASSERT_TRUE(strstr(e, "\nIOASID_PID=7\nMESSAGE=AUDIT xxx"));
        ASSERT_EQ(strlen(strstr(e, "\nMESSAGE=") + 1), 8 + 511 + 1);
        /* Entries sent while no journal listens are dropped; the socket stays usable. */
        ASSERT_OK(unlink(path));
        audit(AUDIT_RELEASE, LOG_INFO, "release");
        audit_close();
        ASSERT_OK(audit_open(NULL));
        audit_close();
        close(fd);
        ASSERT_OK(rmdir(dir));
}

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

        check_entries();
        return 0;
}
