/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int max_level = LOG_INFO;
static const char *ident;

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

void log_set_ident(const char *i)
{
        ident = i;
}

void log_parse_env(void)
{
        static const char *const names[] = { "emerg",   "alert",  "crit", "err",
                                             "warning", "notice", "info", "debug" };
        const char *e = getenv("IOASID_LOG_LEVEL");

        if (!e)
                return;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(e, names[i]) || (e[0] == (char)('0' + i) && e[1] == 0))
                        max_level = (int)i;
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *fmt, ...)
{
        char buf[2048];
        va_list ap;
        int saved = errno;

        /* "%m" must print the error we were given, not whatever errno happens to hold. */
        errno = error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);

        /* Under systemd, stderr goes to the journal, which understands the sd-daemon prefix. */
        if (getenv("JOURNAL_STREAM"))
                fprintf(stderr, "<%d>%s\n", level, buf);
        else if (level >= LOG_DEBUG)
                fprintf(stderr, "%s%s%s (%s:%d)\n", ident ?: "", ident ? ": " : "", buf, file,
                        line);
        else
                fprintf(stderr, "%s%s%s\n", ident ?: "", ident ? ": " : "", buf);
        (void)func;
        errno = saved;
        return -error;
}
