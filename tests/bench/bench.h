/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every benchmark measures with: a monotonic clock in milliseconds, a process's resident
 * memory, and the median of a run of samples. */

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>

static inline double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* VmRSS of pid (0: this process) in KiB, -1 if unknown. */
static inline long rss_kib(pid_t pid)
{
        char path[64], line[256];
        long v = -1;
        FILE *f;

        if (pid == 0)
                snprintf(path, sizeof(path), "/proc/self/status");
        else
                snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
                        break;
        if (f)
                fclose(f);
        return v;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* Sorts v. */
static inline double median(double *v, size_t n)
{
        qsort(v, n, sizeof(*v), bench_cmp_double);
        return v[n / 2];
}
