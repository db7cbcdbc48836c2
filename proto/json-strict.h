/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* 0 when text[0..len) is exactly one JSON value as RFC 8259 writes it (whitespace around it
 * allowed), nested at most max_depth deep, its strings valid UTF-8 with no lone surrogate and
 * its keys free of \u0000; else -EBADMSG. Recursion is bounded by max_depth. */
int json_check_strict(const char *text, size_t len, unsigned max_depth);
