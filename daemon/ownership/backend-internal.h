/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the backends share: the ops table each one fills, and the node helpers in backend.c. */

#include <sys/stat.h>

#include "backend.h"
#include "pci-address.h"

typedef struct backend_ops {
        const char *name;
        /* Whether the kernel interface is there; sets b->kind. -EOPNOTSUPP with a reason. */
        int (*probe)(backend *b, const char **ret_reason);
        /* Opens s->fd. */
        int (*space_open)(backend *b, backend_space *s);
        /* Opens a new grant for d in s (the generic layer has checked it does not exist). */
        int (*claim)(backend *b, backend_space *s, const model_device *d, int *ret_fd);
        int (*path_grant)(backend *b, int group, uid_t uid); /* NULL: not offered */
        int (*path_revoke)(backend *b, int group);           /* NODE_* changes made, or -errno */
} backend_ops;

struct backend {
        const backend_ops *ops;
        backend_kind kind;
        int dev_fd, sysfs_fd;
};

/* An fd the space holds: a device cdev, or a group fd (address ""). */
typedef struct backend_held {
        int group;
        char address[PCI_ADDRESS_SIZE]; /* "" for a group fd */
        int fd;
} backend_held;

struct backend_space {
        backend *backend;
        int fd;
        bool iommu_set; /* legacy: VFIO_SET_IOMMU succeeded on this container once */
        backend_held *claims;
        size_t n_claims, n_alloc;
};

extern const backend_ops backend_iommufd_ops;
extern const backend_ops backend_legacy_ops;
extern const backend_ops backend_fake_ops;

/* Opens path below the dev root: O_PATH without following any symlink, then checks the node is
 * of type (S_IFCHR or S_IFREG) and, for a character device with devnum != 0, that number. Only
 * then it is reopened with flags through /proc/self/fd (flags O_PATH: the checked O_PATH fd).
 * -ENODEV for a node that is not what was expected (logged). */
int backend_open_node(const backend *b, const char *path, mode_t type, dev_t devnum, int flags,
                      int *ret_fd);

/* The device number sysfs gives for class_dir/name (class/misc/iommu, class/vfio/5): the class
 * entry is a link, resolved as text below the sysfs root, and its "dev" attribute read. */
int backend_sysfs_devnum(const backend *b, const char *class_dir, const char *name, dev_t *ret);

/* Whether path below the dev root is a node of that type, not following symlinks. */
bool backend_node_is(const backend *b, const char *path, mode_t type);

/* "vfio" and decimal digits: a vfio cdev name from sysfs, safe in a path. */
bool backend_cdev_name_valid(const char *s);

/* Whether /proc/devices text lists the "vfio-dev" character region, which the kernel reserves
 * only when it makes vfio device cdevs. The file auto-selection reads, for tests. */
bool backend_proc_devices_has_cdevs(const char *text);
void backend_set_proc_devices(const char *path);

/* The path-mode ownership change on an open node (any fd, O_PATH too). give: the node must be
 * root's (or uid's already); it is made root:root 0600 without an ACL (logged when it was open
 * to more), then uid gets it. take_back: root:root 0600 without an ACL again, whatever the
 * lessee did to it; returns the NODE_* changes made. */
enum {
        NODE_OWNER_CHANGED = 1 << 0,
        NODE_ACCESS_CHANGED = 1 << 1, /* group, mode or ACL */
};
int backend_node_give(int fd, const char *path, uid_t uid);
int backend_node_take_back(int fd, const char *path);
