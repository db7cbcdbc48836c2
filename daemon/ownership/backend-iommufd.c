/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iommufd + vfio device cdevs (Linux 6.2+, CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV). One
 * iommufd per lease: the kernel's DMA-ownership cookie is the iommufd context, so devices of one
 * group bound to two iommufds fail with -EPERM; every device of a lease goes with its iommufd.
 * The cdevs are handed out unbound: the holder does VFIO_DEVICE_BIND_IOMMUFD itself. */
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "backend-internal.h"
#include "log.h"

static int iommufd_probe(backend *b, const char **ret_reason)
{
        if (!backend_node_is(b, "iommu", S_IFCHR)) {
                *ret_reason = "dev/iommu is not a character device: the kernel has no iommufd";
                return -EOPNOTSUPP;
        }
        b->kind = BACKEND_IOMMUFD;
        return 0;
}

static int iommufd_space_open(backend *b, backend_space *s)
{
        _cleanup_close_ int fd = -EBADF;
        struct iommu_option option = {
                .size = sizeof(option),
                .option_id = IOMMU_OPTION_RLIMIT_MODE,
                .op = IOMMU_OPTION_OP_SET,
                .object_id = 0,
                .val64 = 1, /* per-process */
        };
        dev_t devnum;
        int r;

        r = backend_sysfs_devnum(b, "class/misc", "iommu", &devnum);
        if (r < 0)
                return log_warning_errno(r, "Cannot read the number of dev/iommu from sysfs: %m");
        r = backend_open_node(b, "iommu", S_IFCHR, devnum, O_RDWR, &fd);
        if (r < 0)
                return r;
        /* First, before any object exists in this context (the kernel refuses it later with
         * -EBUSY): pinned memory is then charged to the holder's RLIMIT_MEMLOCK, not root's. */
        if (ioctl(fd, IOMMU_OPTION, &option) < 0)
                return log_warning_errno(errno,
                                         "Cannot set per-process memory accounting on an iommufd "
                                         "(needs CAP_SYS_RESOURCE): %m");
        s->fd = TAKE_FD(fd);
        return 0;
}

static int iommufd_claim(backend *b, backend_space *s, const model_device *d, int *ret_fd)
{
        char path[32];

        if (!backend_cdev_name_valid(d->cdev) || d->cdev_devnum == 0)
                return log_debug_errno(ENODEV, "%s has no vfio cdev: is it on a vfio driver?",
                                       d->address);
        snprintf(path, sizeof(path), "vfio/devices/%s", d->cdev);
        return backend_open_node(b, path, S_IFCHR, d->cdev_devnum, O_RDWR, ret_fd);
}

const backend_ops backend_iommufd_ops = {
        .name = "iommufd",
        .probe = iommufd_probe,
        .space_open = iommufd_space_open,
        .claim = iommufd_claim,
};
