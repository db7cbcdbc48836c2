/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Between reading attributes (sysfs.c), reading devices (sysfs-device.c) and walking directories
 * (sysfs-walk.c). */

#include <stdbool.h>
#include <stddef.h>

#define DEVICES_DIR "bus/pci/devices"
#define GROUPS_DIR  "kernel/iommu_groups"
#define DRIVERS_DIR "bus/pci/drivers/"
#define CDEVS_DIR   "class/vfio-dev"

/* Whether s is prefix and one or more decimal digits, at most 32 bytes in all: the names the
 * kernel numbers (vfio0, virtfn3). */
bool sysfs_numbered_name(const char *s, const char *prefix);

/* A copy of an untrusted name that is safe to put in a log line. */
const char *sysfs_escape(const char *s, char buf[static 48]);

/* At most one page (and at most size bytes) of a file below dir_fd, as it is: its length.
 * -EFBIG when there is more. */
int sysfs_read_raw(int dir_fd, const char *path, char *buf, size_t size);

/* readlinkat() into buf, NUL-terminated. -ENAMETOOLONG when it does not fit. */
int sysfs_read_link(int dir_fd, const char *name, char *buf, size_t size);

/* A directory read with getdents64() straight into a buffer the caller provides: no DIR, so no
 * stat, fcntl or buffer allocation per directory. */
typedef struct sysfs_dir {
        int fd;
        char *buf;
        size_t size, pos, len;
} sysfs_dir;

/* Opens path below dir_fd (sysfs_open()). buf must stay valid while the directory is read. */
int sysfs_dir_open(int dir_fd, const char *path, char *buf, size_t size, sysfs_dir *ret);
/* The next name but "." and "..": 1, with *ret_name valid until the next call; 0 at the end. */
int sysfs_dir_next(sysfs_dir *d, const char **ret_name);
void sysfs_dir_close(sysfs_dir *d);
