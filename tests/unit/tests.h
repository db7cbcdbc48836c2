/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Minimal assertion helpers for unit tests: each failure names the file, line and the values,
 * and aborts, so meson reports the test as failed with the reason in its log. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT_TRUE(expr)                                                                          \
        do {                                                                                       \
                if (!(expr)) {                                                                     \
                        fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__,       \
                                #expr);                                                            \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#define ASSERT_FALSE(expr) ASSERT_TRUE(!(expr))

#define ASSERT_EQ(a, b)                                                                            \
        do {                                                                                       \
                long long _a = (long long)(a), _b = (long long)(b);                                \
                if (_a != _b) {                                                                    \
                        fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,        \
                                __LINE__, #a, #b, _a, _b);                                         \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#define ASSERT_OK(expr)                                                                            \
        do {                                                                                       \
                long long _r = (long long)(expr);                                                  \
                if (_r < 0) {                                                                      \
                        fprintf(stderr, "%s:%d: %s failed: %lld (%s)\n", __FILE__, __LINE__,       \
                                #expr, _r, strerror((int)-_r));                                    \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#define ASSERT_ERROR(expr, err)                                                                    \
        do {                                                                                       \
                long long _r = (long long)(expr);                                                  \
                if (_r != -(long long)(err)) {                                                     \
                        fprintf(stderr, "%s:%d: %s: expected -%s, got %lld\n", __FILE__, __LINE__, \
                                #expr, #err, _r);                                                  \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#define ASSERT_STREQ(a, b)                                                                         \
        do {                                                                                       \
                const char *_a = (a), *_b = (b);                                                   \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
                        fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,    \
                                __LINE__, #a, #b, _a ?: "(null)", _b ?: "(null)");                 \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#define ASSERT_STRCONTAINS(hay, needle)                                                            \
        do {                                                                                       \
                const char *_h = (hay), *_n = (needle);                                            \
                if (!_h || !strstr(_h, _n)) {                                                      \
                        fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,       \
                                __LINE__, _h ?: "(null)", _n);                                     \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                                                  \
        do {                                                                                       \
                fprintf(stderr, "-- %s\n", #name);                                                 \
                test_##name();                                                                     \
        } while (0)
