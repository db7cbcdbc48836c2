/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json-text.h"

#include <json-c/printbuf.h>
#include <limits.h>
#include <stdlib.h>

typedef struct json_text {
        size_t len;
        char *text;
} json_text;

static void text_free(json_object *o, void *userdata)
{
        json_text *t = userdata;

        free(t->text);
        free(t);
}

static int text_serialize(json_object *o, struct printbuf *pb, int level, int flags)
{
        const json_text *t = json_object_get_userdata(o);

        return printbuf_memappend(pb, t->text, (int)t->len) < 0 ? -1 : 0;
}

json_object *json_text_new(char *text, size_t len)
{
        json_text *t;
        json_object *o;

        /* printbuf counts in int. */
        if (len > INT_MAX / 2) {
                free(text);
                return NULL;
        }
        t = malloc(sizeof(*t));
        o = t ? json_object_new_array() : NULL;
        if (!o) {
                free(t);
                free(text);
                return NULL;
        }
        *t = (json_text){ .len = len, .text = text };
        json_object_set_serializer(o, text_serialize, t, text_free);
        return o;
}
