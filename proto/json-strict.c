/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The JSON grammar of RFC 8259, checked before json-c builds the value. json-c's strict mode
 * still takes single-quoted keys, NaN, "1." and raw control characters in strings, and its
 * UTF-8 check lets UTF-16 surrogates through; a value one peer reads differently from another
 * is a way to fool one of them. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "json-strict.h"

typedef struct scanner {
        const unsigned char *p, *end;
        unsigned depth, max_depth;
} scanner;

static int scan_value(scanner *s);

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

static int scan_string(scanner *s, bool key)
{
        if (!at(s, '"'))
                return -EBADMSG;
        s->p++;
        while (s->p < s->end) {
                unsigned char c = *s->p;

                if (c == '"') {
                        s->p++;
                        return 0;
                }
                if (c < 0x20)
                        return -EBADMSG;
                if (c == '\\') {
                        s->p++;
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

static int scan_digits(scanner *s)
{
        if (!is_digit(s))
                return -EBADMSG;
        while (is_digit(s))
                s->p++;
        return 0;
}

static int scan_number(scanner *s)
{
        if (at(s, '-'))
                s->p++;
        if (at(s, '0'))
                s->p++;
        else if (scan_digits(s) < 0)
                return -EBADMSG;
        if (at(s, '.')) {
                s->p++;
                if (scan_digits(s) < 0)
                        return -EBADMSG;
        }
        if (at(s, 'e') || at(s, 'E')) {
                s->p++;
                if (at(s, '+') || at(s, '-'))
                        s->p++;
                if (scan_digits(s) < 0)
                        return -EBADMSG;
        }
        return 0;
}

static int scan_word(scanner *s, const char *word)
{
        for (; *word; word++, s->p++)
                if (!at(s, *word))
                        return -EBADMSG;
        return 0;
}

/* An object or array: the opening bracket is at s->p. */
static int scan_container(scanner *s)
{
        bool object = at(s, '{');
        char close = object ? '}' : ']';

        if (++s->depth > s->max_depth)
                return -EBADMSG;
        s->p++;
        skip_ws(s);
        if (at(s, close)) {
                s->p++;
                s->depth--;
                return 0;
        }
        for (;;) {
                if (object) {
                        if (scan_string(s, true) < 0)
                                return -EBADMSG;
                        skip_ws(s);
                        if (!at(s, ':'))
                                return -EBADMSG;
                        s->p++;
                }
                if (scan_value(s) < 0)
                        return -EBADMSG;
                skip_ws(s);
                if (at(s, close)) {
                        s->p++;
                        s->depth--;
                        return 0;
                }
                if (!at(s, ','))
                        return -EBADMSG;
                s->p++;
                skip_ws(s);
        }
}

static int scan_value(scanner *s)
{
        skip_ws(s);
        if (s->p >= s->end)
                return -EBADMSG;
        switch (*s->p) {
        case '{':
        case '[':
                return scan_container(s);
        case '"':
                return scan_string(s, false);
        case 't':
                return scan_word(s, "true");
        case 'f':
                return scan_word(s, "false");
        case 'n':
                return scan_word(s, "null");
        default:
                return scan_number(s);
        }
}

int json_check_strict(const char *text, size_t len, unsigned max_depth)
{
        scanner s = { .p = (const unsigned char *)text,
                      .end = (const unsigned char *)text + len,
                      .max_depth = max_depth };

        if (scan_value(&s) < 0)
                return -EBADMSG;
        skip_ws(&s);
        return s.p == s.end ? 0 : -EBADMSG;
}
