/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <syslog.h>

#include "macro.h"

/* Logging to stderr with sd-daemon(3) "<N>" prefixes when run under systemd (journald then
 * records the priority), plain text otherwise. Errors are logged once, where they are handled,
 * and the log_*_errno() helpers return the negative errno so that "return log_error_errno(r,
 * ...)" both logs and propagates. "%m" in the format expands to strerror of that error. */

void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_ident(const char *ident);
void log_parse_env(void);

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *fmt, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...)                                                          \
        ({                                                                                         \
                int _level = (level), _e = (error);                                                \
                _e = _e < 0 ? -_e : _e;                                                            \
                _level <= log_get_max_level()                                                      \
                        ? log_internal(_level, _e, __FILE__, __LINE__, __func__, __VA_ARGS__)      \
                        : -_e;                                                                     \
        })

#define log_full(level, ...) ((void)log_full_errno(level, 0, __VA_ARGS__))

#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...)    log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...)  log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
