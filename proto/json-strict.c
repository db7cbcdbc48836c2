/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON in and out of the wire, without json-c's tokener and printbufs.
 *
 * In: the grammar of RFC 8259, and the json-c value built in the same pass. json-c's strict
 * mode still takes single-quoted keys, NaN, "1." and raw control characters in strings, and
 * its UTF-8 check lets UTF-16 surrogates through; a value one peer reads differently from
 * another is a way to fool one of them. The values built are the ones json-c's tokener builds
 * from the same text (same types, same integer rules, doubles made by json-c itself), without
 * its per-call locale switch and per-connection buffers.
 *
 * Out: the bytes json-c writes with JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
 * counted first, so a message is written once into memory of its exact size. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-cleanup.h"
#include "json-strict.h"

typedef struct scanner {
        const unsigned char *p, *end;
        unsigned depth, max_depth;
} scanner;

/* ret NULL: check only. */
static int scan_value(scanner *s, json_object **ret);

static bool at(const scanner *s, char c)
{
        return s->p < s->end && *s->p == (unsigned char)c;
}

static void skip_ws(scanner *s)
{
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
}

static bool is_digit(const scanner *s)
{
        return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

static int hex4(scanner *s, unsigned *ret)
{
        unsigned v = 0;

        if (s->end - s->p < 4)
                return -EBADMSG;
        for (int i = 0; i < 4; i++) {
                unsigned char c = *s->p++;

                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= c - '0';
                else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
                        v |= (c | 0x20) - 'a' + 10;
                else
                        return -EBADMSG;
        }
        *ret = v;
        return 0;
}

/* One escape after the backslash. A lone surrogate is refused (json-c would turn it into
 * U+FFFD), and so is \u0000 in a key: json-c keeps keys as C strings, so it would read
 * "a\u0000b" as "a". */
static int scan_escape(scanner *s, bool key)
{
        unsigned u, low;

        if (s->p >= s->end)
                return -EBADMSG;
        switch (*s->p++) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
                return 0;
        case 'u':
                if (hex4(s, &u) < 0)
                        return -EBADMSG;
                if (u == 0 && key)
                        return -EBADMSG;
                if (u >= 0xdc00 && u <= 0xdfff)
                        return -EBADMSG;
                if (u < 0xd800 || u > 0xdbff)
                        return 0;
                if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                        return -EBADMSG;
                s->p += 2;
                if (hex4(s, &low) < 0 || low < 0xdc00 || low > 0xdfff)
                        return -EBADMSG;
                return 0;
        default:
                return -EBADMSG;
        }
}

/* One UTF-8 sequence of 2 to 4 bytes (RFC 3629): no overlong forms, no surrogates, nothing
 * past U+10FFFF. */
static int scan_utf8(scanner *s)
{
        unsigned char c = *s->p++, lo = 0x80, hi = 0xbf;
        int n;

        if (c >= 0xc2 && c <= 0xdf)
                n = 1;
        else if (c >= 0xe0 && c <= 0xef) {
                n = 2;
                lo = c == 0xe0 ? 0xa0 : 0x80;
                hi = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 3;
                lo = c == 0xf0 ? 0x90 : 0x80;
                hi = c == 0xf4 ? 0x8f : 0xbf;
        } else
                return -EBADMSG;
        if (s->end - s->p < n || s->p[0] < lo || s->p[0] > hi)
                return -EBADMSG;
        for (int i = 1; i < n; i++)
                if ((s->p[i] & 0xc0) != 0x80)
                        return -EBADMSG;
        s->p += n;
        return 0;
}

/* Sets *ret_escaped when the string holds escapes (its bytes are then not its value). */
static int scan_string(scanner *s, bool key, bool *ret_escaped)
{
        bool escaped = false;

        if (!at(s, '"'))
                return -EBADMSG;
        s->p++;
        while (s->p < s->end) {
                unsigned char c = *s->p;

                if (c == '"') {
                        s->p++;
                        *ret_escaped = escaped;
                        return 0;
                }
                if (c < 0x20)
                        return -EBADMSG;
                if (c == '\\') {
                        s->p++;
                        escaped = true;
                        if (scan_escape(s, key) < 0)
                                return -EBADMSG;
                } else if (c >= 0x80) {
                        if (scan_utf8(s) < 0)
                                return -EBADMSG;
                } else
                        s->p++;
        }
        return -EBADMSG;
}

static unsigned hex4_checked(const unsigned char *p)
{
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                unsigned char c = p[i];

                v = v << 4 | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return v;
}

/* The value of a string scan_string() accepted, its quotes excluded, as json-c decodes it:
 * \u escapes (surrogate pairs joined) in UTF-8, \u0000 a NUL byte. dst has room for n bytes
 * (the value is never longer than its text). Returns the length. */
static size_t unescape(const unsigned char *src, size_t n, char *dst)
{
        const unsigned char *end = src + n;
        char *d = dst;

        while (src < end) {
                unsigned u;

                if (*src != '\\') {
                        *d++ = (char)*src++;
                        continue;
                }
                src++;
                switch (*src++) {
                case 'b':
                        *d++ = '\b';
                        continue;
                case 'f':
                        *d++ = '\f';
                        continue;
                case 'n':
                        *d++ = '\n';
                        continue;
                case 'r':
                        *d++ = '\r';
                        continue;
                case 't':
                        *d++ = '\t';
                        continue;
                case 'u':
                        break;
                default: /* " \ / */
                        *d++ = (char)src[-1];
                        continue;
                }
                u = hex4_checked(src);
                src += 4;
                if (u >= 0xd800 && u <= 0xdbff) {
                        /* scan_escape() made sure a low surrogate follows. */
                        u = 0x10000 + ((u - 0xd800) << 10) + (hex4_checked(src + 2) - 0xdc00);
                        src += 6;
                }
                if (u < 0x80)
                        *d++ = (char)u;
                else if (u < 0x800) {
                        *d++ = (char)(0xc0 | u >> 6);
                        *d++ = (char)(0x80 | (u & 0x3f));
                } else if (u < 0x10000) {
                        *d++ = (char)(0xe0 | u >> 12);
                        *d++ = (char)(0x80 | (u >> 6 & 0x3f));
                        *d++ = (char)(0x80 | (u & 0x3f));
                } else {
                        *d++ = (char)(0xf0 | u >> 18);
                        *d++ = (char)(0x80 | (u >> 12 & 0x3f));
                        *d++ = (char)(0x80 | (u >> 6 & 0x3f));
                        *d++ = (char)(0x80 | (u & 0x3f));
                }
        }
        return (size_t)(d - dst);
}

/* A string's value, NUL-terminated, in buf when it fits (size bytes) or else in *ret_heap. */
static char *string_value(const unsigned char *begin, const unsigned char *end, bool escaped,
                          char *buf, size_t size, char **ret_heap, size_t *ret_len)
{
        size_t n = (size_t)(end - begin);
        char *d = buf;

        if (n >= size) {
                d = *ret_heap = malloc(n + 1);
                if (!d)
                        return NULL;
        }
        if (escaped)
                n = unescape(begin, n, d);
        else
                memcpy(d, begin, n);
        d[n] = 0;
        *ret_len = n;
        return d;
}

static int string_new(scanner *s, json_object **ret)
{
        const unsigned char *begin = s->p + 1;
        _cleanup_free_ char *heap = NULL;
        char buf[256];
        const char *v;
        bool escaped;
        size_t len;
        int r;

        r = scan_string(s, false, &escaped);
        if (r < 0 || !ret)
                return r;
        if (!escaped)
                *ret = json_object_new_string_len((const char *)begin, (int)(s->p - 1 - begin));
        else {
                v = string_value(begin, s->p - 1, true, buf, sizeof(buf), &heap, &len);
                *ret = v ? json_object_new_string_len(v, (int)len) : NULL;
        }
        return *ret ? 0 : -ENOMEM;
}

static int scan_digits(scanner *s)
{
        if (!is_digit(s))
                return -EBADMSG;
        while (is_digit(s))
                s->p++;
        return 0;
}

static int scan_number(scanner *s, bool *ret_double)
{
        bool dbl = false;

        if (at(s, '-'))
                s->p++;
        if (at(s, '0'))
                s->p++;
        else if (scan_digits(s) < 0)
                return -EBADMSG;
        if (at(s, '.')) {
                s->p++;
                dbl = true;
                if (scan_digits(s) < 0)
                        return -EBADMSG;
        }
        if (at(s, 'e') || at(s, 'E')) {
                s->p++;
                dbl = true;
                if (at(s, '+') || at(s, '-'))
                        s->p++;
                if (scan_digits(s) < 0)
                        return -EBADMSG;
        }
        *ret_double = dbl;
        return 0;
}

/* As json-c's tokener: integers are int64, or uint64 above INT64_MAX, and out of range ones
 * clamp (callers check ranges on the typed values); doubles are json-c's own, which keep
 * their text for writing them back. */
static int number_new(scanner *s, json_object **ret)
{
        const unsigned char *begin = s->p;
        _cleanup_free_ char *heap = NULL;
        char buf[64], *t = buf;
        bool dbl;
        size_t n;
        int r;

        r = scan_number(s, &dbl);
        if (r < 0 || !ret)
                return r;
        n = (size_t)(s->p - begin);
        if (n >= sizeof(buf)) {
                t = heap = malloc(n + 1);
                if (!t)
                        return -ENOMEM;
        }
        memcpy(t, begin, n);
        t[n] = 0;
        if (dbl)
                *ret = json_tokener_parse(t);
        else if (t[0] == '-')
                *ret = json_object_new_int64(strtoll(t, NULL, 10));
        else {
                uint64_t u = strtoull(t, NULL, 10);

                *ret = u <= INT64_MAX ? json_object_new_int64((int64_t)u)
                                      : json_object_new_uint64(u);
        }
        return *ret ? 0 : -ENOMEM;
}

static int scan_word(scanner *s, const char *word)
{
        for (; *word; word++, s->p++)
                if (!at(s, *word))
                        return -EBADMSG;
        return 0;
}

/* A key and the value that follows it: added to obj, or handed to cb (which then owns the
 * value), or only checked. */
static int member_add(scanner *s, json_object *obj, json_member_cb cb, void *userdata)
{
        const unsigned char *begin = s->p + 1;
        _cleanup_free_ char *heap = NULL;
        _cleanup_json_ json_object *v = NULL;
        bool build = obj || cb;
        char buf[128];
        const char *key = NULL;
        bool escaped;
        size_t len;
        int r;

        r = scan_string(s, true, &escaped);
        if (r < 0)
                return r;
        if (build) {
                key = string_value(begin, s->p - 1, escaped, buf, sizeof(buf), &heap, &len);
                if (!key)
                        return -ENOMEM;
        }
        skip_ws(s);
        if (!at(s, ':'))
                return -EBADMSG;
        s->p++;
        r = scan_value(s, build ? &v : NULL);
        if (r < 0 || !build)
                return r;
        if (cb)
                return cb(key, TAKE_PTR(v), userdata);
        /* A repeated key replaces the value, as with json-c. */
        if (json_object_object_add(obj, key, v) < 0)
                return -ENOMEM;
        TAKE_PTR(v);
        return 0;
}

static int element_add(scanner *s, json_object *array)
{
        _cleanup_json_ json_object *v = NULL;
        int r;

        r = scan_value(s, array ? &v : NULL);
        if (r < 0 || !array)
                return r;
        if (json_object_array_add(array, v) < 0)
                return -ENOMEM;
        TAKE_PTR(v);
        return 0;
}

/* An object or array: the opening bracket is at s->p. With cb, an object whose members go to
 * cb, nothing built for the object itself. */
static int scan_container(scanner *s, json_object **ret, json_member_cb cb, void *userdata)
{
        _cleanup_json_ json_object *c = NULL;
        bool object = at(s, '{');
        char close = object ? '}' : ']';
        int r;

        if (cb && !object)
                return -EBADMSG;
        if (++s->depth > s->max_depth)
                return -EBADMSG;
        if (ret) {
                c = object ? json_object_new_object() : json_object_new_array();
                if (!c)
                        return -ENOMEM;
        }
        s->p++;
        skip_ws(s);
        if (!at(s, close))
                for (;;) {
                        /* What is inside is one level deeper, and json-c takes no value at
                         * depth max_depth or deeper. */
                        if (s->depth >= s->max_depth)
                                return -EBADMSG;
                        r = object ? member_add(s, c, cb, userdata) : element_add(s, c);
                        if (r < 0)
                                return r;
                        skip_ws(s);
                        if (at(s, close))
                                break;
                        if (!at(s, ','))
                                return -EBADMSG;
                        s->p++;
                        skip_ws(s);
                }
        s->p++;
        s->depth--;
        if (ret) {
                if (!object)
                        (void)json_object_array_shrink(c, 0);
                *ret = TAKE_PTR(c);
        }
        return 0;
}

static int literal_new(scanner *s, const char *word, json_object **ret)
{
        int r = scan_word(s, word);

        if (r < 0 || !ret)
                return r;
        /* null is no object at all in json-c. */
        *ret = word[0] == 'n' ? NULL : json_object_new_boolean(word[0] == 't');
        return *ret || word[0] == 'n' ? 0 : -ENOMEM;
}

static int scan_value(scanner *s, json_object **ret)
{
        skip_ws(s);
        if (s->p >= s->end)
                return -EBADMSG;
        switch (*s->p) {
        case '{':
        case '[':
                return scan_container(s, ret, NULL, NULL);
        case '"':
                return string_new(s, ret);
        case 't':
                return literal_new(s, "true", ret);
        case 'f':
                return literal_new(s, "false", ret);
        case 'n':
                return literal_new(s, "null", ret);
        default:
                return number_new(s, ret);
        }
}

static int parse(const char *text, size_t len, unsigned max_depth, json_object **ret,
                 json_member_cb cb, void *userdata)
{
        scanner s = { .p = (const unsigned char *)text,
                      .end = (const unsigned char *)text + len,
                      .max_depth = max_depth };
        _cleanup_json_ json_object *v = NULL;
        int r;

        if (cb) {
                skip_ws(&s);
                r = at(&s, '{') ? scan_container(&s, NULL, cb, userdata) : -EBADMSG;
        } else
                r = scan_value(&s, ret ? &v : NULL);
        if (r < 0)
                return r;
        skip_ws(&s);
        if (s.p != s.end)
                return -EBADMSG;
        if (ret)
                *ret = TAKE_PTR(v);
        return 0;
}

int json_check_strict(const char *text, size_t len, unsigned max_depth)
{
        return parse(text, len, max_depth, NULL, NULL, NULL);
}

int json_parse_strict(const char *text, size_t len, unsigned max_depth, json_object **ret)
{
        *ret = NULL;
        return parse(text, len, max_depth, ret, NULL, NULL);
}

int json_parse_strict_members(const char *text, size_t len, unsigned max_depth, json_member_cb cb,
                              void *userdata)
{
        return parse(text, len, max_depth, NULL, cb, userdata);
}

/* ---- writing ---- */

static void put(json_writer *w, const void *p, size_t n)
{
        if (w->buf)
                memcpy(w->buf + w->len, p, n);
        w->len += n;
}

void json_write_raw(json_writer *w, const char *s)
{
        put(w, s, strlen(s));
}

/* json-c's escapes: the two-character ones, \u00xx for the other control characters, nothing
 * else (not even DEL, nor bytes that are not UTF-8). */
void json_write_string(json_writer *w, const char *s, size_t len)
{
        static const char hex[] = "0123456789abcdef";
        size_t start = 0;

        put(w, "\"", 1);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                char esc[6] = { '\\', 0 };
                size_t n = 2;

                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                switch (c) {
                case '\b':
                        esc[1] = 'b';
                        break;
                case '\n':
                        esc[1] = 'n';
                        break;
                case '\r':
                        esc[1] = 'r';
                        break;
                case '\t':
                        esc[1] = 't';
                        break;
                case '\f':
                        esc[1] = 'f';
                        break;
                case '"':
                case '\\':
                        esc[1] = (char)c;
                        break;
                default:
                        memcpy(esc + 1, "u00", 3);
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 0xf];
                        n = 6;
                }
                put(w, s + start, i - start);
                put(w, esc, n);
                start = i + 1;
        }
        put(w, s + start, len - start);
        put(w, "\"", 1);
}

void json_write_value(json_writer *w, json_object *v)
{
        char num[32];
        const char *t;
        size_t n;
        bool first = true;

        switch (json_object_get_type(v)) {
        case json_type_null:
                json_write_raw(w, "null");
                return;
        case json_type_boolean:
                json_write_raw(w, json_object_get_boolean(v) ? "true" : "false");
                return;
        case json_type_int:
                /* A uint64 above INT64_MAX reads back as INT64_MAX from get_int64. */
                if (json_object_get_int64(v) < 0)
                        snprintf(num, sizeof(num), "%" PRId64, json_object_get_int64(v));
                else
                        snprintf(num, sizeof(num), "%" PRIu64, json_object_get_uint64(v));
                json_write_raw(w, num);
                return;
        case json_type_double:
                /* json-c's to write: a parsed double keeps its text, others follow its
                 * format settings. */
                t = json_object_to_json_string_length(
                        v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
                if (!t) {
                        w->error = -ENOMEM;
                        return;
                }
                put(w, t, n);
                return;
        case json_type_string:
                json_write_string(w, json_object_get_string(v),
                                  (size_t)json_object_get_string_len(v));
                return;
        case json_type_object:
                put(w, "{", 1);
                json_object_object_foreach (v, key, value) {
                        if (!first)
                                put(w, ",", 1);
                        first = false;
                        json_write_string(w, key, strlen(key));
                        put(w, ":", 1);
                        json_write_value(w, value);
                }
                put(w, "}", 1);
                return;
        case json_type_array:
                put(w, "[", 1);
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        if (i > 0)
                                put(w, ",", 1);
                        json_write_value(w, json_object_array_get_idx(v, i));
                }
                put(w, "]", 1);
                return;
        }
}
