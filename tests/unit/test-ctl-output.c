/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ioasidctl's output module: table layout, legends, absent values, JSON formats, and the exit
 * codes of failures that are not refusals. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "output.h"
#include "tests.h"

/* Runs fn with stdout going to a memfd, and returns what it printed. */
static char *capture(void (*fn)(void *), void *userdata)
{
        int fd = memfd_create("out", MFD_CLOEXEC), saved = dup(STDOUT_FILENO);
        static char buf[4096];
        ssize_t n;

        ASSERT_TRUE(fd >= 0 && saved >= 0);
        fflush(stdout);
        ASSERT_TRUE(dup2(fd, STDOUT_FILENO) >= 0);
        fn(userdata);
        fflush(stdout);
        ASSERT_TRUE(dup2(saved, STDOUT_FILENO) >= 0);
        close(saved);
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        ASSERT_TRUE(n >= 0);
        buf[n] = '\0';
        close(fd);
        return buf;
}

static void print_table(void *userdata)
{
        static const char *const header[] = { "A", "LONGER", "C" };
        table *t;

        ASSERT_OK(table_new(&t, header, 3));
        ASSERT_OK(table_add(t, "x", NULL));
        ASSERT_OK(table_add(t, NULL, ANSI_RED));
        ASSERT_OK(table_add(t, "last", NULL));
        ASSERT_OK(table_add(t, "wider", NULL));
        ASSERT_OK(table_add(t, "", NULL));
        ASSERT_OK(table_add(t, "z", NULL));
        table_print(t);
        table_free(t);
}

static void print_json(void *userdata)
{
        json_object *o = json_tokener_parse("{\"a\":[1,2],\"path\":\"/dev/vfio/2\"}");

        json_print(o);
        json_object_put(o);
}

int main(void)
{
        /* Not a terminal here: no colour, whatever a cell asks for. */
        ASSERT_STREQ(capture(print_table, NULL), "A     LONGER C\n"
                                                 "x     -      last\n"
                                                 "wider -      z\n");
        arg.legend = false;
        ASSERT_STREQ(capture(print_table, NULL), "x     - last\n"
                                                 "wider - z\n");

        arg.json = JSON_SHORT;
        ASSERT_STREQ(capture(print_json, NULL), "{\"a\":[1,2],\"path\":\"/dev/vfio/2\"}\n");
        arg.json = JSON_PRETTY;
        ASSERT_STREQ(capture(print_json, NULL), "{\n"
                                                "  \"a\": [\n"
                                                "    1,\n"
                                                "    2\n"
                                                "  ],\n"
                                                "  \"path\": \"/dev/vfio/2\"\n"
                                                "}\n");

        /* Failures without a refusal: the connection's are "unreachable", the rest generic. */
        ASSERT_EQ(ctl_fail(NULL, -ECONNRESET, "x"), EXIT_UNREACHABLE);
        ASSERT_EQ(ctl_fail(NULL, -ECONNREFUSED, "x"), EXIT_UNREACHABLE);
        ASSERT_EQ(ctl_fail(NULL, -EBADMSG, "x"), EXIT_FAILED);
        ASSERT_EQ(ctl_fail(NULL, -ENOMEM, "x"), EXIT_FAILED);
        return 0;
}
