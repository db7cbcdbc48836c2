/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "sysfs-internal.h"
#include "sysfs.h"

#define DRIVERS_DIR "bus/pci/drivers/"

/* ---- Text ---- */

int sysfs_attr_clean(char *buf, size_t len)
{
        if (len > 0 && buf[len - 1] == '\n')
                len--;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
                        return -EBADMSG;
        buf[len] = 0;
        return (int)len;
}

bool sysfs_name_valid(const char *s)
{
        size_t n = strnlen(s, SYSFS_NAME_MAX + 1);

        if (n == 0 || n > SYSFS_NAME_MAX || streq(s, ".") || streq(s, ".."))
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '/')
                        return false;
        return true;
}

static int parse_decimal(const char *s, bool leading_zero, unsigned long max, unsigned long *ret)
{
        unsigned long v = 0;

        if (!s[0] || (!leading_zero && s[0] == '0' && s[1]))
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (v > (max - (unsigned long)(*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (unsigned long)(*p - '0');
        }
        *ret = v;
        return 0;
}

int sysfs_parse_group(const char *s, int *ret)
{
        unsigned long v;
        int r = parse_decimal(s, false, INT_MAX, &v);

        if (r < 0)
                return r;
        *ret = (int)v;
        return 0;
}

int sysfs_parse_uint(const char *s, int *ret)
{
        unsigned long v;
        int r = parse_decimal(s, true, INT_MAX, &v);

        if (r < 0)
                return r;
        *ret = (int)v;
        return 0;
}

int sysfs_parse_devnum(const char *s, dev_t *ret)
{
        char major[16], minor[16];
        const char *colon = strchr(s, ':');
        unsigned long ma, mi;
        int r;

        if (!colon || (size_t)(colon - s) >= sizeof(major) || strlen(colon + 1) >= sizeof(minor))
                return -EINVAL;
        memcpy(major, s, (size_t)(colon - s));
        major[colon - s] = 0;
        strcpy(minor, colon + 1);
        /* The kernel's dev_t: 12 bits of major, 20 of minor. */
        r = parse_decimal(major, false, 0xfff, &ma);
        if (r >= 0)
                r = parse_decimal(minor, false, 0xfffff, &mi);
        if (r < 0)
                return r;
        *ret = makedev(ma, mi);
        return 0;
}

bool sysfs_id_valid(const char *s, size_t n_digits)
{
        if (strnlen(s, n_digits + 3) != n_digits + 2 || s[0] != '0' || s[1] != 'x')
                return false;
        for (size_t i = 2; i < n_digits + 2; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

int sysfs_link_resolve(const char *dir, const char *target, char *ret, size_t size)
{
        size_t len = strlen(dir);

        if (!target[0])
                return -EINVAL;
        if (target[0] == '/')
                return -EXDEV;
        if (len >= size)
                return -ENAMETOOLONG;
        memcpy(ret, dir, len + 1);

        for (const char *p = target; *p;) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        char *slash;

                        if (len == 0)
                                return -EXDEV;
                        slash = memrchr(ret, '/', len);
                        len = slash ? (size_t)(slash - ret) : 0;
                        ret[len] = 0;
                } else if (n > 0 && !(n == 1 && p[0] == '.')) {
                        size_t need = len + (len > 0) + n;

                        if (need >= size)
                                return -ENAMETOOLONG;
                        if (len > 0)
                                ret[len++] = '/';
                        memcpy(ret + len, p, n);
                        len += n;
                        ret[len] = 0;
                }
                p += n;
                p += *p == '/';
        }
        return 0;
}

const char *sysfs_escape(const char *s, char buf[static 48])
{
        size_t i = 0;

        for (; s[i] && i < 44; i++)
                buf[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
        strcpy(buf + i, s[i] ? "..." : "");
        return buf;
}

/* ---- Access ---- */

static bool openat2_missing;

void sysfs_set_openat2(bool enabled)
{
        openat2_missing = !enabled;
}

/* Where openat2() is missing (kernels before 5.6, memory checkers, seccomp filters that
 * answer ENOSYS): one component at a time with O_NOFOLLOW, refusing "." and "..". For the paths
 * this file builds, that gives what RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS gives. */
static int open_walk(int dir_fd, const char *path, int flags, int *ret_fd)
{
        _cleanup_close_ int cur = -EBADF;
        char name[NAME_MAX + 1];

        if (path[0] == '/')
                return -EXDEV;
        for (const char *p = path;;) {
                size_t n = strcspn(p, "/");
                bool last = !p[n] || !p[n + strspn(p + n, "/")];
                int at = cur >= 0 ? cur : dir_fd, fd;

                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, n ? p : ".", n ? n : 1);
                name[n ? n : 1] = 0;
                if (n > 0 && (streq(name, ".") || streq(name, "..")))
                        return -EXDEV;
                fd = openat(at, name,
                            last ? flags | O_NOFOLLOW | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY)
                                 : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        struct stat st;
                        int r = negative_errno();

                        /* O_NOFOLLOW with O_PATH|O_DIRECTORY says ENOTDIR for a symlink. */
                        if (r == -ENOTDIR && fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                            S_ISLNK(st.st_mode))
                                r = -ELOOP;
                        return r;
                }
                safe_close(cur);
                cur = fd;
                if (last)
                        break;
                p += n;
                p += strspn(p, "/");
        }
        *ret_fd = TAKE_FD(cur);
        return 0;
}

int sysfs_open(int dir_fd, const char *path, int flags, int *ret_fd)
{
        /* No symlinks at all: links are read and resolved as text (sysfs_link_resolve()), so
         * each path opened here is a real one and stays below the root by construction. */
        struct open_how how = {
                /* openat2() refuses O_PATH with any flag it would ignore. */
                .flags = (uint64_t)(flags | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY)),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
        };

        for (int i = 0; !openat2_missing; i++) {
                long fd = syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));

                if (fd >= 0) {
                        *ret_fd = (int)fd;
                        return 0;
                }
                if (errno == ENOSYS) {
                        log_debug("openat2() is not available; walking paths one name at a time.");
                        openat2_missing = true;
                        break;
                }
                /* EAGAIN: a concurrent rename anywhere on the system; the kernel asks to retry. */
                if (errno != EAGAIN || i >= 8)
                        return negative_errno();
        }
        return open_walk(dir_fd, path, flags, ret_fd);
}

int sysfs_read_attr(int dir_fd, const char *path, char *buf, size_t size)
{
        _cleanup_close_ int fd = -EBADF;
        size_t len, max = MIN(size - 1, (size_t)SYSFS_ATTR_MAX);
        ssize_t n;
        int r;

        if (size < 2)
                return -EINVAL;
        r = sysfs_open(dir_fd, path, O_RDONLY, &fd);
        if (r < 0)
                return r;
        /* One read: sysfs hands an attribute out whole, and a short read of a regular file is
         * its end. Only a full buffer needs a look for more. */
        do
                n = read(fd, buf, max);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        len = (size_t)n;
        if (len == max) {
                char extra;

                do
                        n = read(fd, &extra, 1);
                while (n < 0 && errno == EINTR);
                if (n != 0)
                        return n < 0 ? negative_errno() : -EFBIG;
        }
        return sysfs_attr_clean(buf, len);
}

int sysfs_write_attr(int dir_fd, const char *path, const char *value)
{
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(value);
        ssize_t n;
        int r;

        r = sysfs_open(dir_fd, path, O_WRONLY, &fd);
        if (r < 0)
                return r;
        do
                n = write(fd, value, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        return (size_t)n == len ? 0 : -EIO;
}

static int read_link(int dir_fd, const char *name, char *buf, size_t size)
{
        ssize_t n = readlinkat(dir_fd, name, buf, size);

        if (n < 0)
                return negative_errno();
        if ((size_t)n >= size)
                return -ENAMETOOLONG;
        buf[n] = 0;
        return 0;
}

static int open_device_at(int root_fd, int devices_fd, const char *address, int *ret_fd,
                          char path[static PATH_MAX])
{
        char target[PATH_MAX];
        const char *base;
        int r;

        r = read_link(devices_fd, address, target, sizeof(target));
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

/* ---- Devices ---- */

/* Reads the link `name` of the device at dev_path and checks that it points at prefix/NAME
 * with a valid NAME, which goes to ret. -ENOENT without the link; other errors are logged. */
static int read_link_name(const sysfs_device *d, int dev_fd, const char *dev_path, const char *name,
                          const char *prefix, char *ret, size_t size)
{
        char target[PATH_MAX], resolved[PATH_MAX];
        size_t plen = strlen(prefix);
        const char *leaf;
        int r;

        r = read_link(dev_fd, name, target, sizeof(target));
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

static void read_driver_override(sysfs_device *d, int dev_fd)
{
        char buf[SYSFS_NAME_MAX + 2];

        if (read_short(d, dev_fd, "driver_override", buf, sizeof(buf)) < 0)
                return;
        if (streq(buf, "(null)") || !buf[0])
                return;
        if (!sysfs_name_valid(buf)) {
                log_warning("Ignoring driver_override of %s: not a driver name.", d->address);
                return;
        }
        strcpy(d->driver_override, buf);
}

static void read_cdev(sysfs_device *d, int dev_fd)
{
        _cleanup_closedir_ DIR *dir = NULL;
        struct dirent *de;
        char path[SYSFS_NAME_MAX + 16], buf[64];
        int fd, r;

        r = sysfs_open(dev_fd, "vfio-dev", O_RDONLY | O_DIRECTORY, &fd);
        if (r < 0) {
                if (r != -ENOENT)
                        log_warning_errno(r, "Ignoring vfio-dev of %s: %m", d->address);
                return;
        }
        dir = fdopendir(fd);
        if (!dir) {
                safe_close(fd);
                return;
        }
        while ((de = readdir(dir))) {
                const char *p = de->d_name + 4;

                if (strncmp(de->d_name, "vfio", 4) != 0 || !*p || strlen(de->d_name) > 32 ||
                    strspn(p, "0123456789") != strlen(p))
                        continue;
                strcpy(d->cdev, de->d_name);
                break;
        }
        if (!d->cdev[0])
                return;
        snprintf(path, sizeof(path), "vfio-dev/%s/dev", d->cdev);
        if (read_short(d, dev_fd, path, buf, sizeof(buf)) < 0)
                return;
        if (sysfs_parse_devnum(buf, &d->cdev_devnum) < 0)
                log_warning("Ignoring %s of %s: not a device number.", path, d->address);
}

static void read_sriov(sysfs_device *d, int dev_fd, const char *dev_path)
{
        char buf[32], pf[SYSFS_NAME_MAX + 1], parent[PATH_MAX];
        const char *slash = strrchr(dev_path, '/');
        int r;

        /* The kernel gives a VF the PF's parent, so physfn is a sibling link, "../PF". */
        snprintf(parent, sizeof(parent), "%.*s/", slash ? (int)(slash - dev_path) : 0, dev_path);
        r = read_link_name(d, dev_fd, dev_path, "physfn", parent, pf, sizeof(pf));
        if (r >= 0 && pci_address_valid_str(pf))
                strcpy(d->physfn, pf);
        else if (r >= 0)
                log_warning("Ignoring the physfn link of %s: not a PCI device.", d->address);

        if (read_short(d, dev_fd, "sriov_totalvfs", buf, sizeof(buf)) < 0)
                return;
        if (sysfs_parse_uint(buf, &d->sriov_totalvfs) < 0) {
                d->sriov_totalvfs = -1;
                log_warning("Ignoring sriov_totalvfs of %s: not a number.", d->address);
                return;
        }
        if (read_short(d, dev_fd, "sriov_numvfs", buf, sizeof(buf)) >= 0 &&
            sysfs_parse_uint(buf, &d->sriov_numvfs) < 0)
                log_warning("Ignoring sriov_numvfs of %s: not a number.", d->address);
}

int sysfs_read_device(int root_fd, int devices_fd, const char *address, sysfs_device *ret)
{
        _cleanup_close_ int own_devices_fd = -EBADF, dev_fd = -EBADF;
        char path[PATH_MAX], group[SYSFS_NAME_MAX + 1];
        sysfs_device *d = ret;
        int r;

        if (!pci_address_valid_str(address))
                return -EINVAL;
        *d = (sysfs_device){ .group = -1, .sriov_totalvfs = -1, .sriov_numvfs = -1 };
        strcpy(d->address, address);
        if (devices_fd < 0) {
                r = sysfs_open(root_fd, DEVICES_DIR, O_PATH | O_DIRECTORY, &own_devices_fd);
                if (r < 0)
                        return r;
                devices_fd = own_devices_fd;
        }
        r = open_device_at(root_fd, devices_fd, address, &dev_fd, path);
        if (r < 0)
                return r;

        read_id(d, dev_fd, "vendor", d->vendor, 4);
        read_id(d, dev_fd, "device", d->device, 4);
        read_id(d, dev_fd, "class", d->class, 6);
        read_driver_override(d, dev_fd);

        r = read_link_name(d, dev_fd, path, "driver", DRIVERS_DIR, d->driver, sizeof(d->driver));
        /* A driver link we cannot vouch for must not read as "no driver": that would make the
         * group look viable. */
        d->driver_unknown = r < 0 && r != -ENOENT;

        r = read_link_name(d, dev_fd, path, "iommu_group", GROUPS_DIR "/", group, sizeof(group));
        if (r >= 0 && sysfs_parse_group(group, &d->group) < 0) {
                d->group = -1;
                log_warning("Refusing the iommu_group link of %s: not a group number.", address);
        }

        read_cdev(d, dev_fd);
        read_sriov(d, dev_fd, path);
        return 0;
}
