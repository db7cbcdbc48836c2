/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Walking sysfs: IOMMU groups and their members, and the listings of devices, groups and vfio
 * devices. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "sysfs-internal.h"
#include "sysfs.h"

void sysfs_group_done(sysfs_group *g)
{
        free(g->devices);
        g->devices = NULL;
        g->n_devices = 0;
}

static int cmp_address(const void *a, const void *b)
{
        return strcmp(a, b);
}

int sysfs_dir_open(int dir_fd, const char *path, char *buf, size_t size, sysfs_dir *ret)
{
        int r;

        *ret = (sysfs_dir){ .fd = -EBADF, .buf = buf, .size = size };
        r = sysfs_open(dir_fd, path, O_RDONLY | O_DIRECTORY, &ret->fd);
        return r < 0 ? r : 0;
}

int sysfs_dir_next(sysfs_dir *d, const char **ret_name)
{
        for (;;) {
                const struct dirent64 *de;

                if (d->pos >= d->len) {
                        ssize_t n = getdents64(d->fd, d->buf, d->size);

                        if (n < 0)
                                return negative_errno();
                        if (n == 0)
                                return 0;
                        d->pos = 0;
                        d->len = (size_t)n;
                }
                de = (const struct dirent64 *)(d->buf + d->pos);
                d->pos += de->d_reclen;
                if (de->d_name[0] == '.' &&
                    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
                        continue;
                *ret_name = de->d_name;
                return 1;
        }
}

void sysfs_dir_close(sysfs_dir *d)
{
        d->fd = safe_close(d->fd);
}

/* Big directories are read 32 KiB at a time. */
#define DIRBUF_SIZE (32u * 1024u)

/* A listing of path below root_fd with a buffer of its own in *buf (the caller frees it). */
static int open_listing(int root_fd, const char *path, char **buf, sysfs_dir *dir)
{
        *buf = malloc(DIRBUF_SIZE);
        if (!*buf)
                return -ENOMEM;
        return sysfs_dir_open(root_fd, path, *buf, DIRBUF_SIZE, dir);
}

static int push_address(char (**a)[PCI_ADDRESS_SIZE], size_t *n, size_t *n_alloc,
                        const char *address)
{
        if (*n == *n_alloc) {
                /* Small first: the model keeps each group's list, most hold a few devices. */
                size_t k = MAX(*n_alloc * 2, (size_t)4);
                char(*p)[PCI_ADDRESS_SIZE] = reallocarray(*a, k, sizeof(**a));

                if (!p)
                        return -ENOMEM;
                *a = p;
                *n_alloc = k;
        }
        strcpy((*a)[(*n)++], address);
        return 0;
}

/* prefix, number and suffix into buf: 4,096 groups a scan, printf is worth avoiding here. */
static const char *group_path(char buf[static 64], const char *prefix, int number,
                              const char *suffix)
{
        char digits[16];
        size_t n = 0, len = strlen(prefix);

        do
                digits[n++] = (char)('0' + number % 10);
        while ((number /= 10) > 0);
        memcpy(buf, prefix, len);
        while (n > 0)
                buf[len++] = digits[--n];
        strcpy(buf + len, suffix);
        return buf;
}

/* Reads group `number` from dir_fd, which is the sysfs root when prefix is GROUPS_DIR "/" and
 * kernel/iommu_groups itself when prefix is "". */
static int read_group(int dir_fd, const char *prefix, int number, sysfs_group *ret)
{
        _cleanup_(sysfs_group_done) sysfs_group g = { .number = number };
        char path[64], dirbuf[4096], esc[48];
        const char *name;
        size_t n_alloc = 0;
        sysfs_dir dir;
        int r;

        /* The members first: a group directory that cannot be opened (a link, say) fails here,
         * so that the type read below is about the type alone. */
        r = sysfs_dir_open(dir_fd, group_path(path, prefix, number, "/devices"), dirbuf,
                           sizeof(dirbuf), &dir);
        if (r == -ENOENT) {
                _cleanup_close_ int group_fd = -EBADF;

                /* Rare: tell a group that is gone from one without a devices directory. */
                r = sysfs_open(dir_fd, group_path(path, prefix, number, ""), O_PATH | O_DIRECTORY,
                               &group_fd);
                if (r >= 0)
                        log_debug("IOMMU group %d has no devices directory.", number);
        }
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return log_warning_errno(r, "Refusing IOMMU group %d: %m", number);

        while (dir.fd >= 0 && (r = sysfs_dir_next(&dir, &name)) > 0) {
                if (!pci_address_valid_str(name)) {
                        log_notice("IOMMU group %d has a member that is not a PCI device: %s",
                                   number, sysfs_escape(name, esc));
                        g.n_foreign++;
                        continue;
                }
                if (push_address(&g.devices, &g.n_devices, &n_alloc, name) < 0) {
                        sysfs_dir_close(&dir);
                        return -ENOMEM;
                }
        }
        sysfs_dir_close(&dir);
        if (r < 0)
                return log_warning_errno(r, "Cannot list IOMMU group %d: %m", number);

        r = sysfs_read_attr(dir_fd, group_path(path, prefix, number, "/type"), g.type,
                            sizeof(g.type));
        if (r < 0 || !sysfs_name_valid(g.type)) {
                if (r != -ENOENT)
                        log_warning("Ignoring the type of IOMMU group %d: unreadable.", number);
                g.type[0] = 0;
        }
        if (g.n_devices > 1)
                qsort(g.devices, g.n_devices, sizeof(*g.devices), cmp_address);
        *ret = g;
        g.devices = NULL;
        return 0;
}

int sysfs_read_group(int root_fd, int number, sysfs_group *ret)
{
        return read_group(root_fd, GROUPS_DIR "/", number, ret);
}

int sysfs_list_devices(int root_fd, char (**ret)[PCI_ADDRESS_SIZE], size_t *ret_n)
{
        _cleanup_free_ char(*a)[PCI_ADDRESS_SIZE] = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, n_alloc = 0;
        const char *name;
        sysfs_dir dir;
        char esc[48];
        int r;

        r = open_listing(root_fd, DEVICES_DIR, &buf, &dir);
        if (r < 0)
                return r;
        while ((r = sysfs_dir_next(&dir, &name)) > 0) {
                if (!pci_address_valid_str(name)) {
                        log_warning("Skipping %s in " DEVICES_DIR ": not a PCI address.",
                                    sysfs_escape(name, esc));
                        continue;
                }
                if (push_address(&a, &n, &n_alloc, name) < 0) {
                        r = -ENOMEM;
                        break;
                }
        }
        sysfs_dir_close(&dir);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        *ret_n = n;
        return 0;
}

/* The group numbers listed in the open directory dir. */
static int list_groups(sysfs_dir *dir, int **ret, size_t *ret_n)
{
        _cleanup_free_ int *a = NULL;
        size_t n = 0, n_alloc = 0;
        const char *name;
        char esc[48];
        int r;

        while ((r = sysfs_dir_next(dir, &name)) > 0) {
                int number;

                if (sysfs_parse_group(name, &number) < 0) {
                        log_warning("Skipping %s in " GROUPS_DIR ": not a group number.",
                                    sysfs_escape(name, esc));
                        continue;
                }
                if (n == n_alloc) {
                        size_t k = MAX(n_alloc * 2, (size_t)16);
                        int *p = reallocarray(a, k, sizeof(*a));

                        if (!p)
                                return -ENOMEM;
                        a = p;
                        n_alloc = k;
                }
                a[n++] = number;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        *ret_n = n;
        return 0;
}

int sysfs_list_groups(int root_fd, int **ret, size_t *ret_n)
{
        _cleanup_free_ char *buf = NULL;
        sysfs_dir dir;
        int r;

        r = open_listing(root_fd, GROUPS_DIR, &buf, &dir);
        if (r < 0)
                return r;
        r = list_groups(&dir, ret, ret_n);
        sysfs_dir_close(&dir);
        return r;
}

static int cmp_group(const void *a, const void *b)
{
        int x = ((const sysfs_group *)a)->number, y = ((const sysfs_group *)b)->number;

        return x < y ? -1 : x > y;
}

void sysfs_groups_free(sysfs_group *g, size_t n)
{
        for (size_t i = 0; g && i < n; i++)
                sysfs_group_done(&g[i]);
        free(g);
}

int sysfs_read_groups(int root_fd, sysfs_group **ret, size_t *ret_n)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ int *numbers = NULL;
        sysfs_group *g;
        sysfs_dir dir;
        size_t n = 0, k = 0;
        int r;

        r = open_listing(root_fd, GROUPS_DIR, &buf, &dir);
        if (r < 0)
                return r;
        /* Each group is then read relative to the directory just listed. */
        r = list_groups(&dir, &numbers, &n);
        g = r < 0 ? NULL : calloc(n + 1, sizeof(*g));
        if (r >= 0 && !g)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = read_group(dir.fd, "", numbers[i], &g[k]);
                if (r == -ENOMEM)
                        break;
                if (r == -ENOENT) {
                        r = 0;
                        continue; /* gone since the listing */
                }
                if (r < 0)
                        g[k] = (sysfs_group){ .number = numbers[i], .unreadable = true };
                r = 0;
                k++;
        }
        sysfs_dir_close(&dir);
        if (r < 0) {
                sysfs_groups_free(g, k);
                return r;
        }
        qsort(g, k, sizeof(*g), cmp_group);
        *ret = g;
        *ret_n = k;
        return 0;
}

void sysfs_cdevs_free(sysfs_cdev *c, size_t n)
{
        for (size_t i = 0; c && i < n; i++)
                free(c[i].dir);
        free(c);
}

static int cmp_cdev(const void *a, const void *b)
{
        const sysfs_cdev *x = a, *y = b;
        int r = strcmp(x->address, y->address);

        return r ?: strcmp(x->name, y->name);
}

/* The entry `name` of class/vfio-dev: a link to devices/.../ADDRESS/vfio-dev/NAME. */
static int read_cdev_link(int dir_fd, const char *name, sysfs_cdev *ret)
{
        char target[PATH_MAX], resolved[PATH_MAX], esc[48];
        size_t len = strlen(name), rlen, tail;
        const char *address;
        int r;

        if (!sysfs_numbered_name(name, "vfio"))
                return log_warning_errno(EINVAL, "Skipping %s in " CDEVS_DIR ": not a vfio device.",
                                         sysfs_escape(name, esc));
        r = sysfs_read_link(dir_fd, name, target, sizeof(target));
        if (r >= 0)
                r = sysfs_link_resolve(CDEVS_DIR, target, resolved, sizeof(resolved));
        rlen = r >= 0 ? strlen(resolved) : 0;
        /* ".../ADDRESS" and then tail, "/vfio-dev/NAME" under this entry's own name. */
        tail = len + 10;
        if (r < 0 || rlen < 8 + PCI_ADDRESS_LEN + tail || strncmp(resolved, "devices/", 8) != 0 ||
            strncmp(resolved + rlen - tail, "/vfio-dev/", 10) != 0 ||
            !streq(resolved + rlen - len, name) ||
            resolved[rlen - tail - PCI_ADDRESS_LEN - 1] != '/')
                return log_warning_errno(r < 0 ? r : EINVAL,
                                         "Skipping %s in " CDEVS_DIR
                                         ": it does not lead to a PCI device's vfio-dev.",
                                         name);
        address = resolved + rlen - tail - PCI_ADDRESS_LEN;
        if (!pci_address_valid(address, PCI_ADDRESS_LEN))
                return log_warning_errno(EINVAL,
                                         "Skipping %s in " CDEVS_DIR ": not a PCI device's.", name);
        memcpy(ret->address, address, PCI_ADDRESS_LEN);
        ret->address[PCI_ADDRESS_LEN] = 0;
        strcpy(ret->name, name);
        ret->dir = strndup(resolved, rlen - tail);
        return ret->dir ? 0 : -ENOMEM;
}

int sysfs_list_cdevs(int root_fd, sysfs_cdev **ret, size_t *ret_n)
{
        _cleanup_free_ char *buf = NULL;
        sysfs_cdev *a = NULL;
        size_t n = 0, n_alloc = 0;
        const char *name;
        sysfs_dir dir;
        int r;

        r = open_listing(root_fd, CDEVS_DIR, &buf, &dir);
        if (r < 0)
                return r;
        while ((r = sysfs_dir_next(&dir, &name)) > 0) {
                if (n == n_alloc) {
                        size_t k = MAX(n_alloc * 2, (size_t)16);
                        sysfs_cdev *p = reallocarray(a, k, sizeof(*p));

                        if (!p) {
                                r = -ENOMEM;
                                break;
                        }
                        a = p;
                        n_alloc = k;
                }
                r = read_cdev_link(dir.fd, name, &a[n]);
                if (r == -ENOMEM)
                        break;
                n += r >= 0;
        }
        sysfs_dir_close(&dir);
        if (r < 0) {
                sysfs_cdevs_free(a, n);
                return r;
        }
        if (n > 1)
                qsort(a, n, sizeof(*a), cmp_cdev);
        *ret = a;
        *ret_n = n;
        return 0;
}

int sysfs_group_add_member(sysfs_group *g, const char *address)
{
        char(*p)[PCI_ADDRESS_SIZE];
        size_t i = 0;

        while (i < g->n_devices && strcmp(g->devices[i], address) < 0)
                i++;
        if (i < g->n_devices && streq(g->devices[i], address))
                return 0;
        p = reallocarray(g->devices, g->n_devices + 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        memmove(p + i + 1, p + i, (g->n_devices - i) * sizeof(*p));
        strcpy(p[i], address);
        g->devices = p;
        g->n_devices++;
        return 1;
}

void sysfs_group_remove_member(sysfs_group *g, const char *address)
{
        for (size_t i = 0; i < g->n_devices; i++)
                if (streq(g->devices[i], address)) {
                        memmove(g->devices + i, g->devices + i + 1,
                                (g->n_devices - i - 1) * sizeof(*g->devices));
                        g->n_devices--;
                        return;
                }
}
