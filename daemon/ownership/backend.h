/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel calls behind a lease, in one place. A lease gets an address space (a "space"): an
 * iommufd, or on kernels without vfio cdevs a VFIO container. Claiming a device for the space
 * opens what is handed to the holder: the device's cdev (/dev/vfio/devices/vfioN), handed out
 * unbound, or the device's group node (/dev/vfio/N) attached to the container with the type1v2
 * IOMMU set; for legacy, the group fd is the grant for every device of that group, opened once.
 * The space owns every fd it opened until it is freed or the group is released; fds returned
 * here are borrowed (SCM_RIGHTS sends the holder its own reference).
 *
 * Nodes are opened below the dev root only, without following any symlink, first as O_PATH:
 * only a node of the expected type and device number (the cdev's from sysfs vfio-dev/vfioN/dev,
 * the group's, iommu's and the container's from sysfs class/...) is then reopened for real, so
 * the driver behind a wrong node never sees an open().
 *
 * Backends: "iommufd" (cdevs + iommufd), "legacy" (groups + container) and "fake", for the
 * generated sysfs tier only, whose nodes are regular files: it makes no ioctls but checks paths
 * and cdev numbers (the fake nodes hold "MAJOR:MINOR") the same way, and mimics iommufd when the
 * tree has dev/iommu, legacy otherwise. */

#include <stdbool.h>
#include <sys/types.h>

#include "macro.h"
#include "model.h"

typedef enum backend_kind {
        BACKEND_IOMMUFD, /* the grant is a device cdev; the space an iommufd */
        BACKEND_LEGACY,  /* the grant is a group fd; the space a container */
} backend_kind;

typedef struct backend backend;
typedef struct backend_space backend_space;

/* name: "iommufd", "legacy", "fake", or NULL / "auto" to choose from what the kernel offers:
 * iommufd when dev/iommu is a character device and sysfs shows vfio cdevs (class/vfio-dev/
 * vfioN/dev; with no vfio device yet, iommufd only if there is no container to fall back on),
 * else legacy when dev/vfio/vfio is one. The fds are duplicated. On success and on
 * -EOPNOTSUPP, *ret_reason (optional, static) says why; -EINVAL for an unknown name. */
int backend_new(const char *name, int dev_fd, int sysfs_fd, backend **ret, const char **ret_reason);
backend *backend_free(backend *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(backend *, backend_free)

const char *backend_name(const backend *b); /* "iommufd", "legacy" or "fake" */
backend_kind backend_get_kind(const backend *b);
/* Acquire's "backend": "iommufd" or "legacy" (the fake one says what it mimics). */
const char *backend_kind_to_string(backend_kind k);

/* A new address space for a lease. iommufd: IOMMU_OPTION_RLIMIT_MODE is set to per-process
 * before anything else exists in it, so pinned memory is charged to the holder, not to root.
 * legacy: the container must speak VFIO_API_VERSION and offer VFIO_TYPE1v2_IOMMU. */
int backend_space_new(backend *b, backend_space **ret);
/* Closes every fd of the space: the kernel keeps whatever the holder still has open. */
backend_space *backend_space_free(backend_space *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(backend_space *, backend_space_free)

/* The iommuFileDescriptor to hand out (the iommufd or the container); borrowed. */
int backend_space_fd(const backend_space *s);

/* Opens the grant for d in this space and returns it, borrowed: its cdev (iommufd), or its
 * group's fd (legacy). 1 when newly opened, 0 when the space had it already (legacy: another
 * device of the same group). The caller has checked that the group is viable and belongs to
 * this lease; the kernel checks again (legacy: the group must report VIABLE and CONTAINER_SET
 * before it is returned). -ENODEV for a device without a cdev (not on a vfio driver) or a node
 * that is refused (a symlink on the path, the wrong type or not the device sysfs names);
 * -ENOENT when the node is missing; -EBUSY when the kernel has the group in use elsewhere or
 * says it is not viable; other negative errnos from the kernel. */
int backend_claim(backend_space *s, const model_device *d, int *ret_fd);
bool backend_space_has_group(const backend_space *s, int group);
/* Closes the space's fds for one group (lease shrinking, device removed). */
void backend_release_group(backend_space *s, int group);

/* Legacy path mode, for clients that open /dev/vfio/N themselves (QEMU's legacy host=): the
 * daemon opens the group once to see it VIABLE and not in use, then makes uid the node's owner
 * and closes it again, since the node opens only once. The node must be owned by root (or the
 * uid); it is made root:root 0600 without an ACL first, so that ownership is the grant.
 * Revoking makes it root:root 0600 without an ACL again, whatever the lessee did to it (the
 * owner may chmod it or add an ACL), so it needs no record and works after a restart. Note the
 * daemon holds no claim on such a group: the holder's own open claims it. -EOPNOTSUPP on an
 * iommufd backend. */
int backend_path_grant(backend *b, int group, uid_t uid);
int backend_path_revoke(backend *b, int group);
/* A group node no path-mode lease holds, at start: made root:root 0600 without an ACL, as
 * revoking does (a lessee may have opened it to others, and its lease ended while the daemon
 * was down or its record is lost); a repair is logged. -EOPNOTSUPP on an iommufd backend. */
int backend_path_repair(backend *b, int group);
