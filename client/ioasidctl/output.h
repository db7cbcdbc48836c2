/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every verb prints with: tables, JSON, colour, refusals, and the exit codes. */

#include <json-c/json.h>
#include <stdbool.h>

#include "ioasid.h"

/* Exit codes: documented in ioasidctl(8) and stable. */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,      /* anything else */
        EXIT_USAGE = 2,       /* bad command line, or a parameter the daemon calls invalid */
        EXIT_REFUSED = 3,     /* the daemon refused: not viable, busy, denied, bind failed */
        EXIT_NOT_FOUND = 4,   /* no such device, group or lease */
        EXIT_UNREACHABLE = 5, /* the daemon cannot be reached, or went away */
};

typedef enum json_mode {
        JSON_OFF,
        JSON_SHORT,
        JSON_PRETTY,
} json_mode;

typedef struct ctl_args {
        const char *socket;
        json_mode json;
        bool legend;
        bool managed;
        bool hold;
        bool path_mode;
        long uid; /* -1: not given */
} ctl_args;

extern ctl_args arg;

/* Colour only on a terminal, and never with NO_COLOR or TERM=dumb. */
bool use_colour(void);
const char *colour_on(const char *sgr);
const char *colour_off(void);
#define ANSI_RED   "31"
#define ANSI_GREEN "32"
#define ANSI_BOLD  "1"
#define ANSI_GREY  "2"

/* Prints o (borrowed) as --json asks, followed by a newline. */
void json_print(json_object *o);

/* A table: set the header, add rows of cells, print with column widths from the content.
 * Cells may carry a colour; "-" is what an absent value prints as. */
typedef struct table table;
int table_new(table **ret, const char *const *header, size_t n_columns);
table *table_free(table *t);
int table_add(table *t, const char *cell, const char *sgr);
void table_print(table *t);
void tablep_free(table **t);

/* Connects, or reports why not and returns the exit code in *ret_exit. */
int ctl_connect(ioasid **ret, int *ret_exit);
/* Reports a failed call (what was asked, r, and the daemon's refusal if there was one) and
 * returns the exit code for it. */
int ctl_fail(ioasid *c, int r, const char *what);
