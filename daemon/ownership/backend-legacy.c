/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VFIO groups and containers, for kernels without vfio cdevs (Debian's stock kernels). A group
 * node opens once: the group fd is the unit of ownership. Setting the container claims the
 * group's DMA ownership in the kernel (a blocking domain, host drivers refused with -EBUSY);
 * setting the IOMMU type on the container then gives it the address space. */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "backend-internal.h"
#include "log.h"

static int legacy_probe(backend *b, const char **ret_reason)
{
        if (!backend_node_is(b, "vfio/vfio", S_IFCHR)) {
                *ret_reason = "dev/vfio/vfio is not a character device: no VFIO container";
                return -EOPNOTSUPP;
        }
        b->kind = BACKEND_LEGACY;
        return 0;
}

static int legacy_space_open(backend *b, backend_space *s)
{
        _cleanup_close_ int fd = -EBADF;
        dev_t devnum;
        int r, v;

        r = backend_sysfs_devnum(b, "class/misc", "vfio", &devnum);
        if (r < 0)
                return log_warning_errno(r,
                                         "Cannot read the number of dev/vfio/vfio from sysfs: %m");
        r = backend_open_node(b, "vfio/vfio", S_IFCHR, devnum, O_RDWR, &fd);
        if (r < 0)
                return r;
        v = ioctl(fd, VFIO_GET_API_VERSION);
        if (v < 0)
                return log_warning_errno(errno, "VFIO_GET_API_VERSION failed: %m");
        if (v != VFIO_API_VERSION)
                return log_warning_errno(EPROTO, "The VFIO container speaks API %d, not %d.", v,
                                         VFIO_API_VERSION);
        v = ioctl(fd, VFIO_CHECK_EXTENSION, (unsigned long)VFIO_TYPE1v2_IOMMU);
        if (v < 0)
                return log_warning_errno(errno, "VFIO_CHECK_EXTENSION failed: %m");
        if (v == 0)
                return log_warning_errno(EOPNOTSUPP, "The VFIO container has no type1v2 IOMMU.");
        s->fd = TAKE_FD(fd);
        return 0;
}

static int open_group(backend *b, int group, int flags, int *ret_fd)
{
        char name[16], path[32];
        dev_t devnum;
        int r;

        snprintf(name, sizeof(name), "%d", group);
        snprintf(path, sizeof(path), "vfio/%d", group);
        r = backend_sysfs_devnum(b, "class/vfio", name, &devnum);
        if (r == -ENOENT)
                return log_debug_errno(r,
                                       "Group %d has no vfio node: no device of it is on a "
                                       "vfio driver.",
                                       group);
        if (r < 0)
                return log_warning_errno(r, "Cannot read the number of dev/%s from sysfs: %m",
                                         path);
        return backend_open_node(b, path, S_IFCHR, devnum, flags, ret_fd);
}

static int group_status(int fd, int group, uint32_t *ret)
{
        struct vfio_group_status status = { .argsz = sizeof(status) };

        if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) < 0)
                return log_debug_errno(errno, "VFIO_GROUP_GET_STATUS on group %d failed: %m",
                                       group);
        *ret = status.flags;
        return 0;
}

static int legacy_claim(backend *b, backend_space *s, const model_device *d, int *ret_fd)
{
        _cleanup_close_ int fd = -EBADF;
        int32_t container = s->fd;
        uint32_t flags;
        int r;

        r = open_group(b, d->group, O_RDWR, &fd);
        if (r < 0)
                return r;
        r = group_status(fd, d->group, &flags);
        if (r < 0)
                return r;
        /* VIABLE: no host driver in the group and nobody has claimed its DMA ownership. */
        if (!(flags & VFIO_GROUP_FLAGS_VIABLE) || (flags & VFIO_GROUP_FLAGS_CONTAINER_SET))
                return log_debug_errno(EBUSY, "The kernel says group %d is %s.", d->group,
                                       flags & VFIO_GROUP_FLAGS_CONTAINER_SET ? "in use"
                                                                              : "not viable");
        if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &container) < 0)
                return log_debug_errno(errno, "VFIO_GROUP_SET_CONTAINER for group %d failed: %m",
                                       d->group);
        /* The IOMMU type can be set only once a group is in the container, and only once; a
         * group the holder kept open after we released ours keeps it set (then -EINVAL). */
        if (s->n_claims == 0) {
                if (ioctl(s->fd, VFIO_SET_IOMMU, (unsigned long)VFIO_TYPE1v2_IOMMU) < 0 &&
                    !(errno == EINVAL && s->iommu_set))
                        return log_debug_errno(errno, "VFIO_SET_IOMMU(type1v2) failed: %m");
                s->iommu_set = true;
        }
        r = group_status(fd, d->group, &flags);
        if (r < 0)
                return r;
        if ((flags & (VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET)) !=
            (VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET))
                return log_warning_errno(EBUSY, "Group %d is not viable in its container.",
                                         d->group);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int legacy_path_grant(backend *b, int group, uid_t uid)
{
        _cleanup_close_ int fd = -EBADF;
        char path[32];
        uint32_t flags;
        int r;

        /* A real open: it fails with -EBUSY while anyone holds the group. */
        r = open_group(b, group, O_RDWR, &fd);
        if (r < 0)
                return r;
        r = group_status(fd, group, &flags);
        if (r < 0)
                return r;
        if (!(flags & VFIO_GROUP_FLAGS_VIABLE) || (flags & VFIO_GROUP_FLAGS_CONTAINER_SET))
                return log_debug_errno(EBUSY, "The kernel says group %d is not viable.", group);
        snprintf(path, sizeof(path), "vfio/%d", group);
        return backend_node_give(fd, path, uid);
}

static int legacy_path_revoke(backend *b, int group)
{
        _cleanup_close_ int fd = -EBADF;
        char path[32];
        int r;

        /* O_PATH: the holder may still have the group open, and it opens only once. */
        r = open_group(b, group, O_PATH, &fd);
        if (r == -ENOENT)
                return 0; /* the node is gone: a new one is made root's again */
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "vfio/%d", group);
        return backend_node_take_back(fd, path);
}

const backend_ops backend_legacy_ops = {
        .name = "legacy",
        .probe = legacy_probe,
        .space_open = legacy_space_open,
        .claim = legacy_claim,
        .path_grant = legacy_path_grant,
        .path_revoke = legacy_path_revoke,
};
