/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading PCI devices: in full, as a scan reads them, and the links alone. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "sysfs-internal.h"
#include "sysfs.h"

int sysfs_read_link(int dir_fd, const char *name, char *buf, size_t size)
{
        ssize_t n = readlinkat(dir_fd, name, buf, size);

        if (n < 0)
                return negative_errno();
        if ((size_t)n >= size)
                return -ENAMETOOLONG;
        buf[n] = 0;
        return 0;
}

/* The root-relative directory of a device, from its bus/pci/devices link read as text. */
static int device_path(int devices_fd, const char *address, char path[static PATH_MAX])
{
        char target[PATH_MAX];
        const char *base;
        int r;

        r = sysfs_read_link(devices_fd, address, target, sizeof(target));
        if (r < 0) {
                if (r == -ENOENT)
                        return log_debug_errno(r, "%s is gone.", address);
                return log_warning_errno(r, "Refusing %s: %s/%s is not a readable link: %m",
                                         address, DEVICES_DIR, address);
        }
        r = sysfs_link_resolve(DEVICES_DIR, target, path, PATH_MAX);
        if (r < 0)
                return log_warning_errno(r, "Refusing %s: its link points outside the sysfs root.",
                                         address);
        base = strrchr(path, '/');
        if (strncmp(path, "devices/", 8) != 0 || !base || !streq(base + 1, address))
                return log_warning_errno(EINVAL, "Refusing %s: its link does not point into %s.",
                                         address, "devices/");
        return 0;
}

static int open_device_at(int root_fd, int devices_fd, const char *address, int *ret_fd,
                          char path[static PATH_MAX])
{
        int r;

        r = device_path(devices_fd, address, path);
        if (r < 0)
                return r;
        r = sysfs_open(root_fd, path, O_PATH | O_DIRECTORY, ret_fd);
        if (r == -ENOENT)
                return log_debug_errno(r, "%s is gone.", address);
        if (r < 0)
                return log_warning_errno(r, "Refusing %s: cannot open its directory: %m", address);
        return 0;
}

int sysfs_open_device(int root_fd, const char *address, int *ret_fd, char *ret_path)
{
        _cleanup_close_ int devices_fd = -EBADF;
        char path[PATH_MAX];
        int r;

        if (!pci_address_valid_str(address))
                return -EINVAL;
        r = sysfs_open(root_fd, DEVICES_DIR, O_PATH | O_DIRECTORY, &devices_fd);
        if (r < 0)
                return r;
        r = open_device_at(root_fd, devices_fd, address, ret_fd, path);
        if (r >= 0 && ret_path)
                strcpy(ret_path, path);
        return r;
}

/* Reads the link `name` of the device at dev_path and checks that it points at prefix/NAME
 * with a valid NAME, which goes to ret. -ENOENT without the link; other errors are logged. */
static int read_link_name(const sysfs_device *d, int dev_fd, const char *dev_path, const char *name,
                          const char *prefix, char *ret, size_t size)
{
        char target[PATH_MAX], resolved[PATH_MAX];
        size_t plen = strlen(prefix);
        const char *leaf;
        int r;

        r = sysfs_read_link(dev_fd, name, target, sizeof(target));
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return log_warning_errno(r, "Ignoring the %s link of %s: %m", name, d->address);
        r = sysfs_link_resolve(dev_path, target, resolved, sizeof(resolved));
        if (r < 0)
                return log_warning_errno(r,
                                         "Refusing the %s link of %s: it points outside the "
                                         "sysfs root.",
                                         name, d->address);
        leaf = resolved + plen;
        if (strncmp(resolved, prefix, plen) != 0 || strchr(leaf, '/') || !sysfs_name_valid(leaf) ||
            strlen(leaf) >= size)
                return log_warning_errno(EINVAL,
                                         "Refusing the %s link of %s: it does not point "
                                         "into %s.",
                                         name, d->address, prefix);
        strcpy(ret, leaf);
        return 0;
}

static void read_driver_link(sysfs_device *d, int dev_fd, const char *dev_path)
{
        int r = read_link_name(d, dev_fd, dev_path, "driver", DRIVERS_DIR, d->driver,
                               sizeof(d->driver));

        /* A driver link we cannot vouch for must not read as "no driver": that would make the
         * group look viable. */
        d->driver_unknown = r < 0 && r != -ENOENT;
}

static void read_group_link(sysfs_device *d, int dev_fd, const char *dev_path)
{
        char group[SYSFS_NAME_MAX + 1];
        int r;

        r = read_link_name(d, dev_fd, dev_path, "iommu_group", GROUPS_DIR "/", group,
                           sizeof(group));
        if (r >= 0 && sysfs_parse_group(group, &d->group) < 0) {
                d->group = -1;
                log_warning("Refusing the iommu_group link of %s: not a group number.", d->address);
        }
}

/* A short attribute: missing is normal (debug), malformed is worth a warning. */
static int read_short(const sysfs_device *d, int dev_fd, const char *name, char *buf, size_t size)
{
        int r = sysfs_read_attr(dev_fd, name, buf, size);

        if (r < 0)
                buf[0] = 0;
        if (r == -ENOENT)
                return log_debug_errno(r, "%s has no %s.", d->address, name);
        if (r < 0)
                return log_warning_errno(r, "Ignoring %s of %s: %m", name, d->address);
        return r;
}

static void read_id(sysfs_device *d, int dev_fd, const char *name, char *out, size_t n_digits)
{
        char buf[64];

        out[0] = 0;
        if (read_short(d, dev_fd, name, buf, sizeof(buf)) < 0)
                return;
        if (!sysfs_id_valid(buf, n_digits)) {
                log_warning("Ignoring %s of %s: not a %zu-digit hex id.", name, d->address,
                            n_digits);
                return;
        }
        strcpy(out, buf);
}

/* The uevent attribute at path below dir_fd: ids and driver. -ENODATA when it is missing or not
 * what the kernel writes; quiet is for the scan, which reads such a device again in full. */
static int read_uevent(sysfs_device *d, int dir_fd, const char *path, bool quiet)
{
        char buf[SYSFS_ATTR_MAX];
        int r;

        r = sysfs_read_raw(dir_fd, path, buf, sizeof(buf));
        if (r >= 0)
                r = sysfs_parse_pci_uevent(buf, (size_t)r, d);
        if (r < 0) {
                if (quiet || r == -ENOENT)
                        log_debug_errno(r, "Not using the uevent attribute of %s: %m", d->address);
                else
                        log_warning_errno(r,
                                          "Ignoring the uevent attribute of %s, reading its "
                                          "attributes one by one: %m",
                                          d->address);
                return -ENODATA;
        }
        if (d->driver_unknown)
                log_warning("Refusing the driver of %s in its uevent: not a driver name.",
                            d->address);
        return 0;
}

/* The name of the device's vfio cdev: the first vfioN in its vfio-dev directory. */
static void read_cdev_name(sysfs_device *d, int dev_fd)
{
        char dirbuf[1024];
        const char *name;
        sysfs_dir dir;
        int r;

        r = sysfs_dir_open(dev_fd, "vfio-dev", dirbuf, sizeof(dirbuf), &dir);
        if (r < 0) {
                if (r != -ENOENT)
                        log_warning_errno(r, "Ignoring vfio-dev of %s: %m", d->address);
                return;
        }
        while (sysfs_dir_next(&dir, &name) > 0)
                if (sysfs_numbered_name(name, "vfio")) {
                        strcpy(d->cdev, name);
                        break;
                }
        sysfs_dir_close(&dir);
}

/* known: the name the device's cdev had, or NULL. A device has one vfio device at most, so a
 * known name whose dev attribute still reads is the name: its directory is not listed then. */
static void read_cdev(sysfs_device *d, int dev_fd, const char *known)
{
        char path[SYSFS_NAME_MAX + 16], buf[64];
        int r = -ENOENT;

        if (known && sysfs_numbered_name(known, "vfio")) {
                snprintf(path, sizeof(path), "vfio-dev/%s/dev", known);
                r = sysfs_read_attr(dev_fd, path, buf, sizeof(buf));
                if (r >= 0)
                        strcpy(d->cdev, known);
        }
        if (r < 0) {
                read_cdev_name(d, dev_fd);
                if (!d->cdev[0])
                        return;
                snprintf(path, sizeof(path), "vfio-dev/%s/dev", d->cdev);
                if (read_short(d, dev_fd, path, buf, sizeof(buf)) < 0)
                        return;
        }
        if (sysfs_parse_devnum(buf, &d->cdev_devnum) < 0)
                log_warning("Ignoring %s of %s: not a device number.", path, d->address);
}

static void read_count(sysfs_device *d, int dev_fd, const char *name, int *ret)
{
        char buf[32];

        if (read_short(d, dev_fd, name, buf, sizeof(buf)) >= 0 && sysfs_parse_uint(buf, ret) < 0) {
                *ret = -1;
                log_warning("Ignoring %s of %s: not a number.", name, d->address);
        }
}

/* The VFs enabled: the virtfnN links the kernel makes for each, not sriov_numvfs, whose read
 * takes the device lock. A bind or unbind holds that lock for as long as it runs, and vfio-pci's
 * unbind waits until its user closes the device: no read in the event loop may wait on it. */
static void count_virtfns(sysfs_device *d, int dev_fd)
{
        char dirbuf[8192];
        const char *name;
        sysfs_dir dir;
        int r, n = 0;

        r = sysfs_dir_open(dev_fd, ".", dirbuf, sizeof(dirbuf), &dir);
        if (r < 0) {
                log_warning_errno(r, "Cannot list %s for its VFs: %m", d->address);
                return;
        }
        while ((r = sysfs_dir_next(&dir, &name)) > 0)
                n += sysfs_numbered_name(name, "virtfn");
        sysfs_dir_close(&dir);
        if (r < 0)
                log_warning_errno(r, "Cannot list %s for its VFs: %m", d->address);
        else
                d->sriov_numvfs = n;
}

static void read_sriov(sysfs_device *d, int dev_fd, const char *dev_path)
{
        char pf[SYSFS_NAME_MAX + 1], parent[PATH_MAX];
        const char *slash = strrchr(dev_path, '/');
        int r;

        /* The kernel gives a VF the PF's parent, so physfn is a sibling link, "../PF". */
        snprintf(parent, sizeof(parent), "%.*s/", slash ? (int)(slash - dev_path) : 0, dev_path);
        r = read_link_name(d, dev_fd, dev_path, "physfn", parent, pf, sizeof(pf));
        if (r >= 0 && pci_address_valid_str(pf))
                strcpy(d->physfn, pf);
        else if (r >= 0)
                log_warning("Ignoring the physfn link of %s: not a PCI device.", d->address);

        read_count(d, dev_fd, "sriov_totalvfs", &d->sriov_totalvfs);
        if (d->sriov_totalvfs >= 0)
                count_virtfns(d, dev_fd);
}

/* Starts d empty, and opens bus/pci/devices into *own_devices_fd unless *devices_fd is open. */
static int device_start(sysfs_device *d, const char *address, int root_fd, int *devices_fd,
                        int *own_devices_fd)
{
        int r;

        if (!pci_address_valid_str(address))
                return -EINVAL;
        *d = (sysfs_device){ .group = -1, .sriov_totalvfs = -1, .sriov_numvfs = -1 };
        strcpy(d->address, address);
        if (*devices_fd < 0) {
                r = sysfs_open(root_fd, DEVICES_DIR, O_PATH | O_DIRECTORY, own_devices_fd);
                if (r < 0)
                        return r;
                *devices_fd = *own_devices_fd;
        }
        return 0;
}

/* device_start(), then the device's directory: its fd and its path below the root. */
static int device_open(sysfs_device *d, const char *address, int root_fd, int devices_fd,
                       int *ret_fd, char path[static PATH_MAX])
{
        _cleanup_close_ int own_devices_fd = -EBADF;
        int r;

        r = device_start(d, address, root_fd, &devices_fd, &own_devices_fd);
        if (r < 0)
                return r;
        return open_device_at(root_fd, devices_fd, address, ret_fd, path);
}

int sysfs_read_device(int root_fd, int devices_fd, const char *address, sysfs_device *ret)
{
        _cleanup_close_ int dev_fd = -EBADF;
        char path[PATH_MAX];
        int r;

        r = device_open(ret, address, root_fd, devices_fd, &dev_fd, path);
        if (r < 0)
                return r;

        if (read_uevent(ret, dev_fd, "uevent", false) < 0) {
                read_id(ret, dev_fd, "vendor", ret->vendor, 4);
                read_id(ret, dev_fd, "device", ret->device, 4);
                read_id(ret, dev_fd, "class", ret->class, 6);
                read_driver_link(ret, dev_fd, path);
        }
        read_group_link(ret, dev_fd, path);
        read_cdev(ret, dev_fd, NULL);
        read_sriov(ret, dev_fd, path);
        ret->details = true;
        return 0;
}

int sysfs_read_device_brief(int root_fd, int devices_fd, const char *address, sysfs_device *ret,
                            char *ret_path)
{
        static const char name[] = "/uevent";
        _cleanup_close_ int own_devices_fd = -EBADF;
        char path[PATH_MAX];
        size_t len;
        int r;

        r = device_start(ret, address, root_fd, &devices_fd, &own_devices_fd);
        if (r < 0)
                return r;
        r = device_path(devices_fd, address, ret_path);
        if (r < 0)
                return r;
        /* No directory fd: the path is opened beneath the root, with no symlink on it. */
        len = strlen(ret_path);
        if (len + sizeof(name) > sizeof(path))
                return -ENODATA;
        memcpy(path, ret_path, len);
        memcpy(path + len, name, sizeof(name));
        return read_uevent(ret, root_fd, path, true);
}

int sysfs_read_device_links(int root_fd, int devices_fd, const char *address,
                            const sysfs_links_hint *hint, sysfs_device *ret)
{
        _cleanup_close_ int dev_fd = -EBADF;
        char path[PATH_MAX];
        int r;

        r = device_open(ret, address, root_fd, devices_fd, &dev_fd, path);
        if (r < 0)
                return r;
        read_driver_link(ret, dev_fd, path);
        /* A device is in one group: listed in group N's devices, its link leads to N. */
        if (hint->group >= 0)
                ret->group = hint->group;
        else
                read_group_link(ret, dev_fd, path);
        /* A driver makes the cdev: looked for only under one. vfio-pci's probe makes it after
         * the driver link, and its dev attribute after its directory: a driver alone, or a
         * name alone, does not say it is all there yet. */
        if ((ret->driver[0] || ret->driver_unknown) && !hint->no_cdev)
                read_cdev(ret, dev_fd, hint->cdev);
        if (hint->pf)
                count_virtfns(ret, dev_fd);
        return 0;
}
