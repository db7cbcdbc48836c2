/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The backend of the generated sysfs tier (tests/fakesys): its nodes are regular files, and a
 * device cdev holds "MAJOR:MINOR", standing in for st_rdev. No ioctls; everything else (paths
 * below the dev root, no symlinks, the cdev number, one group fd per lease, path-mode ownership)
 * goes through the same code as the real backends. It mimics iommufd when the tree has
 * dev/iommu, legacy otherwise, as mkfakesys.py --kernel makes them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "backend-internal.h"
#include "log.h"
#include "sysfs.h"

static int fake_probe(backend *b, const char **ret_reason)
{
        if (backend_node_is(b, "iommu", S_IFREG))
                b->kind = BACKEND_IOMMUFD;
        else if (backend_node_is(b, "vfio/vfio", S_IFREG))
                b->kind = BACKEND_LEGACY;
        else {
                *ret_reason = "no generated dev/iommu or dev/vfio/vfio (regular files)";
                return -EOPNOTSUPP;
        }
        return 0;
}

static int fake_space_open(backend *b, backend_space *s)
{
        return backend_open_node(b, b->kind == BACKEND_IOMMUFD ? "iommu" : "vfio/vfio", S_IFREG, 0,
                                 O_RDWR, &s->fd);
}

static int fake_node_devnum(int fd, const char *path, dev_t *ret)
{
        char buf[32];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        int r;

        if (n < 0)
                return negative_errno();
        r = sysfs_attr_clean(buf, (size_t)n);
        if (r < 0 || sysfs_parse_devnum(buf, ret) < 0)
                return log_warning_errno(ENODEV, "Refusing dev/%s: no device number in it.", path);
        return 0;
}

static int fake_claim(backend *b, backend_space *s, const model_device *d, int *ret_fd)
{
        _cleanup_close_ int fd = -EBADF;
        char path[32];
        dev_t devnum;
        int r;

        if (b->kind == BACKEND_LEGACY) {
                snprintf(path, sizeof(path), "vfio/%d", d->group);
                return backend_open_node(b, path, S_IFREG, 0, O_RDWR, ret_fd);
        }
        if (!backend_cdev_name_valid(d->cdev) || d->cdev_devnum == 0)
                return log_debug_errno(ENODEV, "%s has no vfio cdev: is it on a vfio driver?",
                                       d->address);
        snprintf(path, sizeof(path), "vfio/devices/%s", d->cdev);
        r = backend_open_node(b, path, S_IFREG, 0, O_RDWR, &fd);
        if (r < 0)
                return r;
        r = fake_node_devnum(fd, path, &devnum);
        if (r < 0)
                return r;
        if (devnum != d->cdev_devnum)
                return log_warning_errno(ENODEV, "Refusing dev/%s: not the cdev of %s.", path,
                                         d->address);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int fake_path_grant(backend *b, int group, uid_t uid)
{
        _cleanup_close_ int fd = -EBADF;
        char path[32];
        int r;

        snprintf(path, sizeof(path), "vfio/%d", group);
        r = backend_open_node(b, path, S_IFREG, 0, O_RDWR, &fd);
        if (r < 0)
                return r;
        return backend_node_give(fd, path, uid);
}

static int fake_path_revoke(backend *b, int group)
{
        _cleanup_close_ int fd = -EBADF;
        char path[32];
        int r;

        snprintf(path, sizeof(path), "vfio/%d", group);
        r = backend_open_node(b, path, S_IFREG, 0, O_PATH, &fd);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return backend_node_take_back(fd, path);
}

const backend_ops backend_fake_ops = {
        .name = "fake",
        .probe = fake_probe,
        .space_open = fake_space_open,
        .claim = fake_claim,
        .path_grant = fake_path_grant,
        .path_revoke = fake_path_revoke,
};
