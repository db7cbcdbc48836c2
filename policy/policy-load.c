/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The only I/O of the policy module: reading the files of a policy directory into a new policy,
 * all or nothing, so a broken file never replaces a working policy. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy-internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);
#define _cleanup_closedir_ _cleanup_(closedirp)

typedef struct name_list {
        char **names;
        size_t n;
} name_list;

static void name_list_done(name_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->names[i]);
        free(l->names);
        *l = (name_list){ 0 };
}

_printf_(3, 4) static int load_fail(char **ret_error, int r, const char *fmt, ...)
{
        va_list ap;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return r;
}

static bool is_policy_file(const char *name)
{
        size_t len = strlen(name);

        /* Hidden files are editor and package manager leftovers, never policy. */
        return name[0] != '.' && len > 5 && streq(name + len - 5, ".json");
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_names(DIR *d, const char *dir, name_list *ret, char **ret_error)
{
        struct dirent *de;

        for (;;) {
                char **grown;

                errno = 0;
                de = readdir(d);
                if (!de)
                        break;
                if (!is_policy_file(de->d_name))
                        continue;
                if (ret->n >= POLICY_FILES_MAX)
                        return load_fail(ret_error, -E2BIG, "%s: more than %u policy files", dir,
                                         POLICY_FILES_MAX);
                grown = realloc(ret->names, (ret->n + 1) * sizeof(char *));
                if (!grown)
                        return -ENOMEM;
                ret->names = grown;
                ret->names[ret->n] = strdup(de->d_name);
                if (!ret->names[ret->n])
                        return -ENOMEM;
                ret->n++;
        }
        if (errno != 0)
                return load_fail(ret_error, negative_errno(), "%s: cannot read: %s", dir,
                                 strerror(errno));
        /* strcmp(), not strcoll(): the order must not depend on the daemon's locale. */
        if (ret->n > 0)
                qsort(ret->names, ret->n, sizeof(char *), compare_names);
        return 0;
}

/* Policy is trusted only if nobody but root can change it, as sudo and polkit have it: owned by
 * root (or the daemon's own user, which could change it anyway; a daemon run as root trusts
 * root alone), writable neither by its group nor by others. */
static int check_trusted(const struct stat *st, const char *name, char **ret_error)
{
        if (st->st_uid != 0 && st->st_uid != geteuid())
                return load_fail(ret_error, -EPERM, "%s: owned by uid %u, not root, refusing it",
                                 name, (unsigned)st->st_uid);
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return load_fail(ret_error, -EPERM,
                                 "%s: writable by its group or others, refusing it", name);
        return 0;
}

static int read_policy_file(int dir_fd, const char *name, char **ret, size_t *ret_len,
                            char **ret_error)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;
        int r;

        /* O_NONBLOCK: a FIFO named *.json must not hang the daemon; fstat() refuses it next.
         * O_NOFOLLOW: a symlink's target is checked by nobody. */
        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0 && errno == ELOOP)
                return load_fail(ret_error, -ELOOP, "%s: a symlink, refusing it", name);
        if (fd < 0 || fstat(fd, &st) < 0)
                return load_fail(ret_error, negative_errno(), "%s: cannot open: %s", name,
                                 strerror(errno));
        if (!S_ISREG(st.st_mode))
                return load_fail(ret_error, -EINVAL, "%s: not a regular file", name);
        r = check_trusted(&st, name, ret_error);
        if (r < 0)
                return r;
        if (st.st_size > (off_t)POLICY_FILE_SIZE_MAX)
                return load_fail(ret_error, -E2BIG, "%s: larger than %u bytes", name,
                                 POLICY_FILE_SIZE_MAX);

        /* One byte more than the limit, so a file that grew since fstat() is still caught. */
        buf = malloc(POLICY_FILE_SIZE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + len, POLICY_FILE_SIZE_MAX + 1 - len);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return load_fail(ret_error, negative_errno(), "%s: cannot read: %s", name,
                                         strerror(errno));
                if (k == 0)
                        break;
                len += (size_t)k;
                if (len > POLICY_FILE_SIZE_MAX)
                        return load_fail(ret_error, -E2BIG, "%s: larger than %u bytes", name,
                                         POLICY_FILE_SIZE_MAX);
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int policy_load_dir(const char *dir, policy **ret, char **ret_error)
{
        _cleanup_(policy_freep) policy *p = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_(name_list_done) name_list names = { 0 };
        struct stat st;
        int fd, r;

        if (!dir || !ret)
                return -EINVAL;
        p = policy_new();
        if (!p)
                return -ENOMEM;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                *ret = TAKE_PTR(p);
                return 0;
        }
        /* O_DIRECTORY with O_NOFOLLOW says ENOTDIR for a symlink to a directory. */
        if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) && lstat(dir, &st) >= 0 &&
            S_ISLNK(st.st_mode))
                return load_fail(ret_error, -ELOOP, "%s: a symlink, refusing it", dir);
        if (fd < 0)
                return load_fail(ret_error, negative_errno(), "%s: cannot open: %s", dir,
                                 strerror(errno));
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                safe_close(fd);
                return load_fail(ret_error, r, "%s: cannot open: %s", dir, strerror(-r));
        }
        if (fstat(dirfd(d), &st) < 0)
                return load_fail(ret_error, negative_errno(), "%s: cannot stat: %s", dir,
                                 strerror(errno));
        /* Whoever may write the directory may add a file to it. */
        r = check_trusted(&st, dir, ret_error);
        if (r < 0)
                return r;

        r = list_names(d, dir, &names, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < names.n; i++) {
                _cleanup_free_ char *text = NULL;
                size_t len = 0;

                r = read_policy_file(dirfd(d), names.names[i], &text, &len, ret_error);
                if (r < 0)
                        return r;
                r = policy_parse(text, len, names.names[i], p, ret_error);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}
