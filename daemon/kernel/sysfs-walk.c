/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Walking sysfs: IOMMU groups and their members, and the listings of devices and groups. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

static int open_dir(int dir_fd, const char *path, DIR **ret)
{
        int fd, r;

        r = sysfs_open(dir_fd, path, O_RDONLY | O_DIRECTORY, &fd);
        if (r < 0)
                return r;
        *ret = fdopendir(fd);
        if (!*ret) {
                r = negative_errno();
                safe_close(fd);
                return r;
        }
        return 0;
}

static bool dot_or_dotdot(const char *s)
{
        return s[0] == '.' && (!s[1] || (s[1] == '.' && !s[2]));
}

static int push_address(char (**a)[PCI_ADDRESS_SIZE], size_t *n, size_t *n_alloc,
                        const char *address)
{
        if (*n == *n_alloc) {
                size_t k = MAX(*n_alloc * 2, (size_t)16);
                char(*p)[PCI_ADDRESS_SIZE] = reallocarray(*a, k, sizeof(**a));

                if (!p)
                        return -ENOMEM;
                *a = p;
                *n_alloc = k;
        }
        strcpy((*a)[(*n)++], address);
        return 0;
}

int sysfs_read_group(int root_fd, int number, sysfs_group *ret)
{
        _cleanup_close_ int group_fd = -EBADF;
        _cleanup_closedir_ DIR *dir = NULL;
        _cleanup_(sysfs_group_done) sysfs_group g = { .number = number };
        struct dirent *de;
        size_t n_alloc = 0;
        char path[64], esc[48];
        int r;

        snprintf(path, sizeof(path), GROUPS_DIR "/%d", number);
        r = sysfs_open(root_fd, path, O_PATH | O_DIRECTORY, &group_fd);
        if (r < 0)
                return r == -ENOENT ? r
                                    : log_warning_errno(r, "Refusing IOMMU group %d: %m", number);
        r = sysfs_read_attr(group_fd, "type", g.type, sizeof(g.type));
        if (r < 0 || !sysfs_name_valid(g.type)) {
                if (r != -ENOENT)
                        log_warning("Ignoring the type of IOMMU group %d: unreadable.", number);
                g.type[0] = 0;
        }
        r = open_dir(group_fd, "devices", &dir);
        if (r == -ENOENT)
                log_debug("IOMMU group %d has no devices directory.", number);
        else if (r < 0)
                return log_warning_errno(r, "Refusing IOMMU group %d: %m", number);

        while (dir && (errno = 0, de = readdir(dir))) {
                if (dot_or_dotdot(de->d_name))
                        continue;
                if (!pci_address_valid_str(de->d_name)) {
                        log_notice("IOMMU group %d has a member that is not a PCI device: %s",
                                   number, sysfs_escape(de->d_name, esc));
                        g.n_foreign++;
                        continue;
                }
                if (push_address(&g.devices, &g.n_devices, &n_alloc, de->d_name) < 0)
                        return -ENOMEM;
        }
        if (dir && errno > 0)
                return log_warning_errno(errno, "Cannot list IOMMU group %d: %m", number);
        if (g.n_devices > 1)
                qsort(g.devices, g.n_devices, sizeof(*g.devices), cmp_address);
        *ret = g;
        g.devices = NULL;
        return 0;
}

int sysfs_list_devices(int root_fd, char (**ret)[PCI_ADDRESS_SIZE], size_t *ret_n)
{
        _cleanup_closedir_ DIR *dir = NULL;
        _cleanup_free_ char(*a)[PCI_ADDRESS_SIZE] = NULL;
        size_t n = 0, n_alloc = 0;
        struct dirent *de;
        char esc[48];
        int r;

        r = open_dir(root_fd, DEVICES_DIR, &dir);
        if (r < 0)
                return r;
        while ((errno = 0, de = readdir(dir))) {
                if (dot_or_dotdot(de->d_name))
                        continue;
                if (!pci_address_valid_str(de->d_name)) {
                        log_warning("Skipping %s in " DEVICES_DIR ": not a PCI address.",
                                    sysfs_escape(de->d_name, esc));
                        continue;
                }
                if (push_address(&a, &n, &n_alloc, de->d_name) < 0)
                        return -ENOMEM;
        }
        if (errno > 0)
                return negative_errno();
        *ret = TAKE_PTR(a);
        *ret_n = n;
        return 0;
}

int sysfs_list_groups(int root_fd, int **ret, size_t *ret_n)
{
        _cleanup_closedir_ DIR *dir = NULL;
        _cleanup_free_ int *a = NULL;
        size_t n = 0, n_alloc = 0;
        struct dirent *de;
        char esc[48];
        int r;

        r = open_dir(root_fd, GROUPS_DIR, &dir);
        if (r < 0)
                return r;
        while ((errno = 0, de = readdir(dir))) {
                int number;

                if (dot_or_dotdot(de->d_name))
                        continue;
                if (sysfs_parse_group(de->d_name, &number) < 0) {
                        log_warning("Skipping %s in " GROUPS_DIR ": not a group number.",
                                    sysfs_escape(de->d_name, esc));
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
        if (errno > 0)
                return negative_errno();
        *ret = TAKE_PTR(a);
        *ret_n = n;
        return 0;
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
        _cleanup_free_ int *numbers = NULL;
        sysfs_group *g;
        size_t n = 0, k = 0;
        int r;

        r = sysfs_list_groups(root_fd, &numbers, &n);
        if (r < 0)
                return r;
        g = calloc(n + 1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = sysfs_read_group(root_fd, numbers[i], &g[k]);
                if (r == -ENOMEM) {
                        sysfs_groups_free(g, k);
                        return r;
                }
                if (r == -ENOENT)
                        continue; /* gone since the listing */
                if (r < 0)
                        g[k] = (sysfs_group){ .number = numbers[i], .unreadable = true };
                k++;
        }
        qsort(g, k, sizeof(*g), cmp_group);
        *ret = g;
        *ret_n = k;
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
