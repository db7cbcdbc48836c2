/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json-cleanup.h"
#include "macro.h"
#include "output.h"

ctl_args arg = {
        .legend = true,
        .uid = -1,
};

bool use_colour(void)
{
        static int cached = -1;
        const char *term = getenv("TERM");

        if (cached < 0)
                cached = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !streq(term, "dumb");
        return cached;
}

const char *colour_on(const char *sgr)
{
        static char buf[16];

        if (!sgr || !use_colour())
                return "";
        snprintf(buf, sizeof(buf), "\033[%sm", sgr);
        return buf;
}

const char *colour_off(void)
{
        return use_colour() ? "\033[0m" : "";
}

void json_print(json_object *o)
{
        int flags = arg.json == JSON_PRETTY ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                            : JSON_C_TO_STRING_PLAIN;

        puts(json_object_to_json_string_ext(o, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
        fflush(stdout);
}

struct table {
        size_t n_columns;
        char **cells;
        const char **sgr;
        size_t n_cells;
};

int table_new(table **ret, const char *const *header, size_t n_columns)
{
        table *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        t->n_columns = n_columns;
        for (size_t i = 0; i < n_columns; i++)
                if (table_add(t, header[i], NULL) < 0) {
                        table_free(t);
                        return -ENOMEM;
                }
        *ret = t;
        return 0;
}

table *table_free(table *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->sgr);
        free(t);
        return NULL;
}

void tablep_free(table **t)
{
        *t = table_free(*t);
}

int table_add(table *t, const char *cell, const char *sgr)
{
        char **cells = reallocarray(t->cells, t->n_cells + 1, sizeof(char *));
        const char **colours;

        if (!cells)
                return -ENOMEM;
        t->cells = cells;
        colours = reallocarray(t->sgr, t->n_cells + 1, sizeof(char *));
        if (!colours)
                return -ENOMEM;
        t->sgr = colours;
        t->cells[t->n_cells] = strdup(cell && *cell ? cell : "-");
        if (!t->cells[t->n_cells])
                return -ENOMEM;
        t->sgr[t->n_cells++] = sgr;
        return 0;
}

void table_print(table *t)
{
        _cleanup_free_ size_t *width = calloc(t->n_columns ?: 1, sizeof(size_t));
        size_t first = arg.legend ? 0 : t->n_columns;

        if (!width)
                return;
        for (size_t i = first; i < t->n_cells; i++)
                width[i % t->n_columns] = MAX(width[i % t->n_columns], strlen(t->cells[i]));
        for (size_t i = first; i < t->n_cells; i++) {
                size_t col = i % t->n_columns;
                bool last = col == t->n_columns - 1;
                const char *sgr = i < t->n_columns ? ANSI_BOLD : t->sgr[i];

                printf("%s%s%s", colour_on(sgr), t->cells[i], sgr ? colour_off() : "");
                if (last)
                        putchar('\n');
                else
                        printf("%*s", (int)(width[col] - strlen(t->cells[i]) + 1), "");
        }
        fflush(stdout);
}

/* Failures of the connection itself, as opposed to the daemon saying no. */
static bool connection_error(int r)
{
        static const int errors[] = { ECONNRESET, ECONNREFUSED, EPIPE, ENOENT, ETIMEDOUT };

        for (size_t i = 0; i < ELEMENTSOF(errors); i++)
                if (r == -errors[i])
                        return true;
        return false;
}

int ctl_connect(ioasid **ret, int *ret_exit)
{
        int r = ioasid_connect(arg.socket, ret);

        if (r < 0) {
                fprintf(stderr, "ioasidctl: cannot reach the broker at %s: %s\n",
                        arg.socket ?: getenv("IOASID_SOCKET") ?: IOASID_DEFAULT_SOCKET,
                        strerror(-r));
                *ret_exit = EXIT_UNREACHABLE;
                return r;
        }
        return 0;
}

static void print_refusal(ioasid *c)
{
        const char *name = ioasid_error_name(c), *text = ioasid_error_message(c);
        const char *lease;
        uid_t uid;
        pid_t pid;

        fprintf(stderr, "  %s", name);
        if (ioasid_error_group(c) >= 0)
                fprintf(stderr, " (group %d)", ioasid_error_group(c));
        if (ioasid_error_address(c))
                fprintf(stderr, " (%s)", ioasid_error_address(c));
        if (ioasid_error_lease(c))
                fprintf(stderr, " (lease %s)", ioasid_error_lease(c));
        fputc('\n', stderr);
        if (text)
                fprintf(stderr, "  %s\n", text);
        for (size_t i = 0; i < ioasid_error_n_reasons(c); i++)
                fprintf(stderr, "  - %s\n", ioasid_error_reason_at(c, i));
        if (ioasid_error_owner(c, &uid, &pid, &lease) >= 0)
                fprintf(stderr, "  held by uid %u, pid %d, lease %s\n", (unsigned)uid, (int)pid,
                        lease);
}

int ctl_fail(ioasid *c, int r, const char *what)
{
        const char *name = ioasid_error_name(c);

        if (name) {
                fprintf(stderr, "ioasidctl: %s: refused by the broker:\n", what);
                print_refusal(c);
                if (streq(name, "org.varlink.service.InvalidParameter"))
                        return EXIT_USAGE;
                return r == -ENOENT ? EXIT_NOT_FOUND : EXIT_REFUSED;
        }
        fprintf(stderr, "ioasidctl: %s: %s\n", what, strerror(-r));
        return connection_error(r) ? EXIT_UNREACHABLE : EXIT_FAILED;
}
