/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

/* 0 when text[0..len) is exactly one JSON value as RFC 8259 writes it (whitespace around it
 * allowed), nested at most max_depth deep (what json-c's tokener takes: containers at most
 * max_depth, no value at max_depth or deeper), its strings valid UTF-8 with no lone surrogate
 * and its keys free of \u0000; else -EBADMSG. Recursion is bounded by max_depth. */
int json_check_strict(const char *text, size_t len, unsigned max_depth);

/* The same check, and the value it accepts as json-c's tokener would build it (*ret NULL for
 * null). -EBADMSG or -ENOMEM. */
int json_parse_strict(const char *text, size_t len, unsigned max_depth, json_object **ret);

/* The same, for a text that must be an object: no object is built, each member goes to cb in
 * order as it is parsed (key borrowed, value, NULL for null, owned by cb), repeated keys
 * included. A negative errno from cb ends the parse with it. Callers may have had members
 * before the text turns out invalid. */
typedef int (*json_member_cb)(const char *key, json_object *value, void *userdata);
int json_parse_strict_members(const char *text, size_t len, unsigned max_depth, json_member_cb cb,
                              void *userdata);

/* Writes what json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE) makes. With buf NULL it only counts, so a caller counts
 * first and then writes into memory of the exact size. Doubles are written by json-c; no
 * other value may have a serializer of its own (json_object_set_serializer). */
typedef struct json_writer {
        char *buf;
        size_t len;
        int error; /* -ENOMEM when a double could not be written */
} json_writer;

void json_write_raw(json_writer *w, const char *s);
void json_write_string(json_writer *w, const char *s, size_t len);
void json_write_value(json_writer *w, json_object *v);
