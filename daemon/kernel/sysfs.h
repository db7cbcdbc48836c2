/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading sysfs safely. Everything is reached from one root directory fd (--sysfs-root), with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS): every path opened is
 * a real directory path. Symlinks (bus/pci/devices/X, driver, iommu_group, physfn) are read
 * with readlinkat() and resolved as text against the directory that holds them, so a target
 * that is absolute or climbs above the root is refused (-EXDEV) without ever being followed,
 * and a target must land where the kernel puts it (bus/pci/drivers/D, kernel/iommu_groups/N).
 *
 * Names from directory listings and link targets are validated before use; attribute reads are
 * bounded to one page with the trailing newline stripped. A missing attribute leaves its field
 * empty (logged at debug level): the device is still listed with what is known.
 *
 * A device's ids and driver come from its uevent attribute, one read where four attributes and
 * a link took a read each; the kernel writes it from the same fields as vendor, device, class
 * and the driver link. Where it is missing or is not what the kernel writes, the attributes and
 * the driver link are read one by one as before. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "pci-address.h"

#define SYSFS_ATTR_MAX 4096u /* one page: what a sysfs show() can produce */
#define SYSFS_NAME_MAX 64u   /* driver names, domain types, cdev names */

/* ---- Text checks and parsers: pure functions, fuzzed. ---- */

/* Checks an attribute's content in place: at most one trailing newline (stripped), no NUL and
 * no control characters. Returns the new length, or -EBADMSG. */
int sysfs_attr_clean(char *buf, size_t len);

/* A driver, domain type or cdev name: 1..SYSFS_NAME_MAX printable ASCII characters, no '/',
 * no spaces, not "." or "..". */
bool sysfs_name_valid(const char *s);

/* An IOMMU group directory name: decimal digits only, no leading zero, fits an int. */
int sysfs_parse_group(const char *s, int *ret);

/* A decimal count such as sriov_numvfs. */
int sysfs_parse_uint(const char *s, int *ret);

/* A character device number as sysfs prints it, "MAJOR:MINOR". */
int sysfs_parse_devnum(const char *s, dev_t *ret);

/* "0x" and exactly n_digits lower-case hex digits: vendor, device (4) and class (6). */
bool sysfs_id_valid(const char *s, size_t n_digits);

/* Resolves a symlink's target as text against dir, the root-relative path of the directory
 * holding the link. The result is root-relative without "." or ".." components. -EXDEV for
 * an absolute target or one that climbs above the root; -ENAMETOOLONG; -EINVAL if empty. */
int sysfs_link_resolve(const char *dir, const char *target, char *ret, size_t size);

/* ---- Access beneath the root ---- */

/* Opens a real (symlink-free) path below dir_fd. flags as for open(); O_CLOEXEC is added.
 * Where the kernel (or a seccomp filter) has no openat2(), the path is walked one name at a
 * time with O_NOFOLLOW instead, refusing "." and "..": the same result for our paths. */
int sysfs_open(int dir_fd, const char *path, int flags, int *ret_fd);
/* Tests: run with or without openat2(). */
void sysfs_set_openat2(bool enabled);

/* Reads an attribute below dir_fd into buf (NUL-terminated, newline stripped, checked by
 * sysfs_attr_clean()). Returns the length. */
int sysfs_read_attr(int dir_fd, const char *path, char *buf, size_t size);

/* Writes value to an attribute below dir_fd in one write() (driver_override, bind, unbind,
 * drivers_probe, sriov_numvfs): sysfs takes a store in one call or not at all. */
int sysfs_write_attr(int dir_fd, const char *path, const char *value);

/* Opens the real directory of a PCI device as an O_PATH fd, from bus/pci/devices/ADDRESS.
 * ret_path (optional, PATH_MAX bytes) gets its root-relative path, "devices/pci0000:00/...". */
int sysfs_open_device(int root_fd, const char *address, int *ret_fd, char *ret_path);

/* ---- What sysfs says about PCI devices and IOMMU groups ---- */

typedef struct sysfs_device {
        char address[PCI_ADDRESS_SIZE];
        int group; /* -1: no iommu_group link (no IOMMU, or not translated) */
        char vendor[7], device[7], class[9]; /* "0x8086", "0x10d3", "0x020000"; "" if unknown */
        char driver[SYSFS_NAME_MAX + 1];     /* "" if none */
        bool driver_unknown;                 /* a driver link that could not be vouched for */
        char cdev[SYSFS_NAME_MAX + 1];       /* "vfio0" from vfio-dev/; "" if none */
        dev_t cdev_devnum;                   /* from vfio-dev/vfioN/dev; 0 if unknown */
        char physfn[PCI_ADDRESS_SIZE];       /* a VF's PF; "" otherwise */
        int sriov_totalvfs, sriov_numvfs;    /* -1 unless an SR-IOV PF */
        bool details; /* physfn, the SR-IOV counts and cdev_devnum were read */
} sysfs_device;

/* Parses a PCI device's uevent attribute, as the kernel's dev_uevent() and pci_uevent() write it
 * ("KEY=value\n" lines: DRIVER= when bound, PCI_CLASS=%04X, PCI_ID=%04X:%04X, PCI_SUBSYS_ID=,
 * PCI_SLOT_NAME=, MODALIAS=; other keys are skipped), into d's vendor, device, class, driver and
 * driver_unknown (a DRIVER= that is no driver name). PCI_SLOT_NAME must be d->address. -EBADMSG
 * when the text is not what the kernel writes: a control character, a line without "=", a key
 * twice, an id out of shape, or PCI_CLASS, PCI_ID or PCI_SLOT_NAME missing. Pure, fuzzed. */
int sysfs_parse_pci_uevent(const char *text, size_t len, sysfs_device *d);

/* Reads one device in full. -ENOENT when it is gone; -EXDEV, -ELOOP, -EINVAL when its entry is
 * refused (logged as a warning here); -ENOMEM. devices_fd is bus/pci/devices, or -EBADF to open
 * it. */
int sysfs_read_device(int root_fd, int devices_fd, const char *address, sysfs_device *ret);

/* What a full scan reads of a device: its bus/pci/devices link and its uevent attribute, so ids
 * and driver. group stays -1, cdev empty (the scan has them from the group and class listings)
 * and details false. ret_path (PATH_MAX bytes) gets its directory, "devices/...". -ENODATA when
 * the uevent attribute is missing or refused (logged): sysfs_read_device() then. Other errors
 * as sysfs_read_device(). */
int sysfs_read_device_brief(int root_fd, int devices_fd, const char *address, sysfs_device *ret,
                            char *ret_path);

/* What a caller of sysfs_read_device_links() knows of the device, to spare reads. */
typedef struct sysfs_links_hint {
        bool pf;          /* an SR-IOV PF: its VFs are counted */
        const char *cdev; /* the cdev name it had, tried first (no vfio-dev listing); or NULL */
        int group;        /* its group, as that group's own member list just showed; or -1 */
        bool no_cdev;     /* its cdev is not needed now: not read (cdev stays "") */
} sysfs_links_hint;

/* What can change under a lease decision, read cheaply: the driver and iommu_group links
 * (driver, driver_unknown, group), the cdev (name and number) while a driver is bound, and for
 * an SR-IOV PF sriov_numvfs. The rest stays as sysfs_read_device() starts it. Errors as
 * sysfs_read_device(). */
int sysfs_read_device_links(int root_fd, int devices_fd, const char *address,
                            const sysfs_links_hint *hint, sysfs_device *ret);

/* A vfio device as class/vfio-dev lists it. */
typedef struct sysfs_cdev {
        char address[PCI_ADDRESS_SIZE];
        char name[33]; /* "vfio0": vfio and at most 28 digits */
        char *dir;     /* the device's directory its link leads to */
} sysfs_cdev;

/* The entries of class/vfio-dev, sorted by address (then name). Each must be a link named vfioN
 * that leads to devices/.../ADDRESS/vfio-dev/vfioN; others are skipped with a warning. -ENOENT
 * without the directory (vfio is not loaded). */
int sysfs_list_cdevs(int root_fd, sysfs_cdev **ret, size_t *ret_n);
void sysfs_cdevs_free(sysfs_cdev *c, size_t n);

typedef struct sysfs_group {
        int number;
        char type[SYSFS_NAME_MAX + 1]; /* default domain type, "" if unreadable */
        char (*devices)[PCI_ADDRESS_SIZE];
        size_t n_devices;
        size_t n_foreign; /* member names that are not PCI addresses */
        bool unreadable;  /* refused: set by sysfs_read_groups() and the model, not here */
} sysfs_group;

void sysfs_group_done(sysfs_group *g);
void sysfs_groups_free(sysfs_group *g, size_t n);

/* Member lists stay sorted. add returns 1 if added, 0 if already there. */
int sysfs_group_add_member(sysfs_group *g, const char *address);
void sysfs_group_remove_member(sysfs_group *g, const char *address);

/* Reads kernel/iommu_groups/N: its type and its devices directory. -ENOENT when the group does
 * not exist. */
int sysfs_read_group(int root_fd, int number, sysfs_group *ret);

/* Reads every group in kernel/iommu_groups, sorted by number. Vanished ones are left out;
 * refused ones (logged) are kept as unreadable, so that they cannot look viable. */
int sysfs_read_groups(int root_fd, sysfs_group **ret, size_t *ret_n);

/* The valid addresses in bus/pci/devices, and the valid group numbers in kernel/iommu_groups;
 * other names are skipped with a warning. Unsorted. -ENOENT if the directory is missing. */
int sysfs_list_devices(int root_fd, char (**ret)[PCI_ADDRESS_SIZE], size_t *ret_n);
int sysfs_list_groups(int root_fd, int **ret, size_t *ret_n);
