/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define _unused_             __attribute__((unused))
#define _printf_(a, b)       __attribute__((format(printf, a, b)))
#define _noreturn_           __attribute__((noreturn))
#define _pure_               __attribute__((pure))
#define _warn_unused_result_ __attribute__((warn_unused_result))
#define _cleanup_(f)         __attribute__((cleanup(f)))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define CONCAT_(a, b) a##b
#define CONCAT(a, b)  CONCAT_(a, b)
#define UNIQ(x)       CONCAT(x, __COUNTER__)

/* Statement expressions with names unique per expansion, so nesting MIN(MAX()) does not shadow. */
#define MIN_(a, b, ua, ub)                                                                         \
        ({                                                                                         \
                __auto_type ua = (a);                                                              \
                __auto_type ub = (b);                                                              \
                ua < ub ? ua : ub;                                                                 \
        })
#define MIN(a, b) MIN_(a, b, UNIQ(_min_a), UNIQ(_min_b))
#define MAX_(a, b, ua, ub)                                                                         \
        ({                                                                                         \
                __auto_type ua = (a);                                                              \
                __auto_type ub = (b);                                                              \
                ua > ub ? ua : ub;                                                                 \
        })
#define MAX(a, b) MAX_(a, b, UNIQ(_max_a), UNIQ(_max_b))

/* Hand ownership on: returns the value and leaves the variable in its "empty" state, so the
 * cleanup attribute on the old owner does nothing. */
#define TAKE_GENERIC(var, type, empty)                                                             \
        ({                                                                                         \
                type *_pvar = &(var);                                                              \
                type _old = *_pvar;                                                                \
                *_pvar = (empty);                                                                  \
                _old;                                                                              \
        })
#define TAKE_PTR(p) TAKE_GENERIC(p, __typeof__(p), NULL)
#define TAKE_FD(fd) TAKE_GENERIC(fd, int, -EBADF)

static inline void freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* free() that yields NULL, for "p = mfree(p)". */
static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved = errno;
                /* EINTR on close() still closes the fd on Linux: never retry. */
                (void)close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd)
{
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

void close_many(int *fds, size_t n);

static inline void close_manyp_helper(int **fds, size_t *n)
{
        close_many(*fds, *n);
        free(*fds);
        *fds = NULL;
        *n = 0;
}

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
        static inline void func##p(type *p)                                                        \
        {                                                                                          \
                if (*p)                                                                            \
                        func(*p);                                                                  \
        }

static inline bool streq(const char *a, const char *b)
{
        return a && b && __builtin_strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return __builtin_strcmp(a, b) == 0;
}

/* Negative errno from a failed libc call, never 0 even if errno was not set. */
static inline int negative_errno(void)
{
        return errno > 0 ? -errno : -EIO;
}
