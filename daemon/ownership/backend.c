/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "backend-internal.h"
#include "fd-util.h"
#include "log.h"
#include "sysfs.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)
#define _cleanup_closedir_ _cleanup_(closedirp)

static const backend_ops *const backends[] = {
        &backend_iommufd_ops,
        &backend_legacy_ops,
        &backend_fake_ops,
};

/* ---- Nodes ---- */

size_t backend_device_nodes(const backend *b, const model_device *d, struct stat ret[static 2])
{
        char path[64];
        size_t n = 0;

        if (!b || b->dev_fd < 0)
                return 0;
        if (backend_cdev_name_valid(d->cdev)) {
                snprintf(path, sizeof(path), "vfio/devices/%s", d->cdev);
                n += fstatat(b->dev_fd, path, &ret[n], AT_SYMLINK_NOFOLLOW) >= 0;
        }
        if (d->group >= 0) {
                snprintf(path, sizeof(path), "vfio/%d", d->group);
                n += fstatat(b->dev_fd, path, &ret[n], AT_SYMLINK_NOFOLLOW) >= 0;
        }
        return n;
}

bool backend_cdev_name_valid(const char *s)
{
        size_t n;

        if (!s || strncmp(s, "vfio", 4) != 0)
                return false;
        n = strlen(s + 4);
        return n > 0 && n <= 10 && strspn(s + 4, "0123456789") == n;
}

static const char *type_name(mode_t type)
{
        return type == S_IFCHR ? "character device" : "regular file";
}

int backend_open_node(const backend *b, const char *path, mode_t type, dev_t devnum, int flags,
                      int *ret_fd)
{
        _cleanup_close_ int path_fd = -EBADF, fd = -EBADF;
        struct stat st, st2;
        char proc[64];
        int r;

        r = sysfs_open(b->dev_fd, path, O_PATH, &path_fd);
        if (r == -ELOOP || r == -EXDEV)
                return log_warning_errno(ENODEV, "Refusing dev/%s: the path has a symlink.", path);
        if (r < 0)
                return log_debug_errno(r, "Cannot open dev/%s: %m", path);
        if (fstat(path_fd, &st) < 0)
                return negative_errno();
        if ((st.st_mode & S_IFMT) != type)
                return log_warning_errno(ENODEV, "Refusing dev/%s: not a %s.", path,
                                         type_name(type));
        if (type == S_IFCHR && devnum != 0 && st.st_rdev != devnum)
                return log_warning_errno(
                        ENODEV, "Refusing dev/%s: it is device %u:%u, sysfs says %u:%u.", path,
                        major(st.st_rdev), minor(st.st_rdev), major(devnum), minor(devnum));
        if (flags & O_PATH) {
                *ret_fd = TAKE_FD(path_fd);
                return 0;
        }

        /* Reopening the checked inode: the driver's open() runs only for the node we vetted,
         * and a rename in between cannot swap another node in. */
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path_fd);
        fd = open(proc, flags | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_debug_errno(errno, "Cannot open dev/%s: %m", path);
        if (fstat(fd, &st2) < 0)
                return negative_errno();
        if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
                return log_warning_errno(ENODEV, "Refusing dev/%s: it changed while opened.", path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

bool backend_node_is(const backend *b, const char *path, mode_t type)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        return sysfs_open(b->dev_fd, path, O_PATH, &fd) >= 0 && fstat(fd, &st) >= 0 &&
               (st.st_mode & S_IFMT) == type;
}

int backend_sysfs_devnum(const backend *b, const char *class_dir, const char *name, dev_t *ret)
{
        _cleanup_close_ int dir_fd = -EBADF;
        char target[PATH_MAX], path[PATH_MAX], buf[32];
        ssize_t n;
        int r;

        r = sysfs_open(b->sysfs_fd, class_dir, O_PATH | O_DIRECTORY, &dir_fd);
        if (r < 0)
                return r;
        n = readlinkat(dir_fd, name, target, sizeof(target));
        if (n < 0 && errno == EINVAL) {
                /* Not a link (CONFIG_SYSFS_DEPRECATED trees): the entry is the directory. */
                if ((size_t)snprintf(path, sizeof(path), "%s/%s/dev", class_dir, name) >=
                    sizeof(path))
                        return -ENAMETOOLONG;
        } else {
                if (n < 0)
                        return negative_errno();
                if ((size_t)n >= sizeof(target))
                        return -ENAMETOOLONG;
                target[n] = 0;
                r = sysfs_link_resolve(class_dir, target, path, sizeof(path) - 4);
                if (r < 0)
                        return r;
                strcat(path, "/dev");
        }
        r = sysfs_read_attr(b->sysfs_fd, path, buf, sizeof(buf));
        if (r < 0)
                return r;
        return sysfs_parse_devnum(buf, ret);
}

#define ACL_ACCESS_XATTR "system.posix_acl_access"

/* Makes the node what devtmpfs makes of a group node, root:root 0600 without an ACL, through
 * any fd of it (O_PATH too). Ownership goes first: from then on a lessee can change nothing
 * more. The mode goes before the ACL, since the mode's group bits are the ACL's mask: named
 * entries grant nothing from then on. Both are changed through /proc/self/fd, which names the
 * open node itself, never a path that could have been swapped for a symlink. Returns the
 * NODE_* changes it made. */
static int node_reset(int fd, const char *path)
{
        char proc[64];
        struct stat st;
        int changed = 0;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (st.st_uid != 0 || st.st_gid != 0) {
                if (fchownat(fd, "", 0, 0, AT_EMPTY_PATH) < 0)
                        return log_debug_errno(errno, "Cannot give dev/%s back to root: %m", path);
                changed |= st.st_uid != 0 ? NODE_OWNER_CHANGED : 0;
                changed |= st.st_gid != 0 ? NODE_ACCESS_CHANGED : 0;
        }
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if ((st.st_mode & 07777) != 0600) {
                if (chmod(proc, 0600) < 0)
                        return log_debug_errno(errno, "Cannot make dev/%s mode 0600: %m", path);
                changed |= NODE_ACCESS_CHANGED;
        }
        /* Asked first: some file systems report success for removing an ACL that is not
         * there. */
        if (getxattr(proc, ACL_ACCESS_XATTR, NULL, 0) >= 0) {
                if (removexattr(proc, ACL_ACCESS_XATTR) < 0 && errno != ENODATA)
                        return log_debug_errno(errno, "Cannot remove the ACL of dev/%s: %m", path);
                changed |= NODE_ACCESS_CHANGED;
        } else if (errno != ENODATA && errno != EOPNOTSUPP)
                return log_debug_errno(errno, "Cannot read the ACL of dev/%s: %m", path);
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 07777) != 0600)
                return log_warning_errno(EPERM, "dev/%s is still not root:root 0600.", path);
        return changed;
}

int backend_node_give(int fd, const char *path, uid_t uid)
{
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (st.st_uid != 0 && st.st_uid != uid)
                return log_warning_errno(EBUSY, "Refusing to grant dev/%s: uid %u owns it.", path,
                                         (unsigned)st.st_uid);
        /* Ownership is the grant only if the owner alone can open the node. */
        r = node_reset(fd, path);
        if (r < 0)
                return r;
        if (r & NODE_ACCESS_CHANGED)
                log_warning("AUDIT dev/%s was open to more than root (mode %04o, uid %u, gid %u, "
                            "or an ACL); repaired to root:root 0600 before granting it.",
                            path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
                            (unsigned)st.st_gid);
        if (fchownat(fd, "", uid, (gid_t)-1, AT_EMPTY_PATH) < 0)
                return log_debug_errno(errno, "Cannot give dev/%s to uid %u: %m", path,
                                       (unsigned)uid);
        return 0;
}

int backend_node_take_back(int fd, const char *path)
{
        return node_reset(fd, path);
}

/* ---- Selection ---- */

typedef enum cdev_support {
        CDEV_UNKNOWN, /* no vfio device to look at */
        CDEV_NO,
        CDEV_YES,
} cdev_support;

/* Every vfio device has class/vfio-dev/vfioN; it has a "dev" attribute only when the kernel
 * made a cdev for it (CONFIG_VFIO_DEVICE_CDEV). */
static cdev_support sysfs_cdev_support(const backend *b)
{
        _cleanup_closedir_ DIR *dir = NULL;
        cdev_support found = CDEV_UNKNOWN;
        struct dirent *de;
        int fd;

        if (sysfs_open(b->sysfs_fd, "class/vfio-dev", O_RDONLY | O_DIRECTORY, &fd) < 0)
                return CDEV_UNKNOWN;
        dir = fdopendir(fd);
        if (!dir) {
                safe_close(fd);
                return CDEV_UNKNOWN;
        }
        while ((de = readdir(dir))) {
                char target[PATH_MAX], path[PATH_MAX];
                _cleanup_close_ int dev_fd = -EBADF;
                ssize_t n;

                if (!backend_cdev_name_valid(de->d_name))
                        continue;
                found = CDEV_NO;
                n = readlinkat(dirfd(dir), de->d_name, target, sizeof(target));
                if (n <= 0 || (size_t)n >= sizeof(target))
                        continue;
                target[n] = 0;
                if (sysfs_link_resolve("class/vfio-dev", target, path, sizeof(path) - 4) < 0)
                        continue;
                strcat(path, "/dev");
                if (sysfs_open(b->sysfs_fd, path, O_PATH, &dev_fd) >= 0)
                        return CDEV_YES;
        }
        return found;
}

static const char *proc_devices = "/proc/devices";

void backend_set_proc_devices(const char *path)
{
        proc_devices = path;
}

bool backend_proc_devices_has_cdevs(const char *text)
{
        const char *end = strstr(text, "\nBlock devices:");

        /* The character devices come first, one "<major> <name>" a line. */
        for (const char *p = text; p && (!end || p < end); p = strchr(p, '\n')) {
                unsigned major;
                int n = 0;

                p += *p == '\n';
                if (sscanf(p, " %u vfio-dev%n", &major, &n) == 1 && n > 0 &&
                    (p[n] == '\n' || p[n] == 0))
                        return true;
        }
        return false;
}

/* With no device on a vfio driver yet, the kernel still says whether it makes vfio cdevs: vfio
 * reserves their character region, "vfio-dev", as it loads. Asked only once dev/iommu is a real
 * character device, so that the /proc read is the same kernel's as the nodes. */
static cdev_support proc_cdev_support(void)
{
        _cleanup_close_ int fd = open(proc_devices, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char text[8192];
        size_t n = 0;
        ssize_t k = 0;

        if (fd < 0)
                return CDEV_UNKNOWN;
        /* A seq_file gives at most a page a read. */
        while (n < sizeof(text) - 1 && (k = read(fd, text + n, sizeof(text) - 1 - n)) > 0)
                n += (size_t)k;
        if (k < 0)
                return CDEV_UNKNOWN;
        text[n] = 0;
        return backend_proc_devices_has_cdevs(text) ? CDEV_YES : CDEV_UNKNOWN;
}

static int select_auto(backend *b, const char **ret_reason)
{
        bool iommu = backend_node_is(b, "iommu", S_IFCHR);
        bool container = backend_node_is(b, "vfio/vfio", S_IFCHR);
        cdev_support cdevs = iommu ? sysfs_cdev_support(b) : CDEV_UNKNOWN;

        if (cdevs == CDEV_UNKNOWN && iommu)
                cdevs = proc_cdev_support();

        if (iommu && cdevs == CDEV_YES) {
                b->ops = &backend_iommufd_ops;
                *ret_reason = "the kernel has iommufd and vfio device cdevs";
        } else if (container) {
                b->ops = &backend_legacy_ops;
                *ret_reason =
                        !iommu ? "the kernel has no iommufd (no dev/iommu)"
                        : cdevs == CDEV_NO
                                ? "the kernel has iommufd but no vfio device cdevs"
                                : "the kernel shows no vfio cdevs (no device on a vfio driver, no "
                                  "vfio-dev region); the container works either way";
        } else if (iommu) {
                b->ops = &backend_iommufd_ops;
                *ret_reason = "the kernel has iommufd and no VFIO container";
        } else {
                *ret_reason = "neither dev/iommu nor dev/vfio/vfio is a character device";
                return -EOPNOTSUPP;
        }
        return 0;
}

int backend_new(const char *name, int dev_fd, int sysfs_fd, backend **ret, const char **ret_reason)
{
        _cleanup_(backend_freep) backend *b = NULL;
        const char *reason = NULL, *why = NULL;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->dev_fd = b->sysfs_fd = -EBADF;
        b->dev_fd = fcntl_dupfd_cloexec(dev_fd);
        if (b->dev_fd < 0)
                return b->dev_fd;
        b->sysfs_fd = fcntl_dupfd_cloexec(sysfs_fd);
        if (b->sysfs_fd < 0)
                return b->sysfs_fd;

        if (!name || streq(name, "auto")) {
                r = select_auto(b, &reason);
                if (r < 0)
                        goto finish;
        } else {
                for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                        if (streq(backends[i]->name, name))
                                b->ops = backends[i];
                if (!b->ops) {
                        reason = "unknown backend (iommufd, legacy, fake or auto)";
                        r = -EINVAL;
                        goto finish;
                }
                reason = "chosen by name";
        }
        r = b->ops->probe(b, &why);
        if (r < 0)
                reason = why;
finish:
        if (ret_reason)
                *ret_reason = reason;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

backend *backend_free(backend *b)
{
        if (!b)
                return NULL;
        safe_close(b->dev_fd);
        safe_close(b->sysfs_fd);
        free(b);
        return NULL;
}

const char *backend_name(const backend *b)
{
        return b->ops->name;
}

backend_kind backend_get_kind(const backend *b)
{
        return b->kind;
}

const char *backend_kind_to_string(backend_kind k)
{
        return k == BACKEND_IOMMUFD ? "iommufd" : "legacy";
}

/* ---- Spaces and claims ---- */

int backend_space_new(backend *b, backend_space **ret)
{
        _cleanup_(backend_space_freep) backend_space *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->backend = b;
        s->fd = -EBADF;
        r = b->ops->space_open(b, s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

backend_space *backend_space_free(backend_space *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_claims; i++)
                safe_close(s->claims[i].fd);
        free(s->claims);
        safe_close(s->fd);
        free(s);
        return NULL;
}

int backend_space_fd(const backend_space *s)
{
        return s->fd;
}

static backend_held *claim_find(const backend_space *s, const model_device *d)
{
        for (size_t i = 0; i < s->n_claims; i++) {
                backend_held *c = &s->claims[i];

                if (s->backend->kind == BACKEND_LEGACY ? c->group == d->group
                                                       : streq(c->address, d->address))
                        return c;
        }
        return NULL;
}

int backend_claim(backend_space *s, const model_device *d, int *ret_fd)
{
        backend *b = s->backend;
        backend_held *c;
        int fd = -EBADF, r;

        if (!pci_address_valid_str(d->address) || d->group < 0)
                return -EINVAL;
        c = claim_find(s, d);
        if (c) {
                *ret_fd = c->fd;
                return 0;
        }
        /* Room first, so that a claim made in the kernel is never dropped for lack of it. */
        if (s->n_claims == s->n_alloc) {
                size_t n = MAX(s->n_alloc * 2, (size_t)4);
                backend_held *p = reallocarray(s->claims, n, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                s->claims = p;
                s->n_alloc = n;
        }
        r = b->ops->claim(b, s, d, &fd);
        if (r < 0)
                return r;
        c = &s->claims[s->n_claims++];
        *c = (backend_held){ .group = d->group, .fd = fd };
        if (b->kind != BACKEND_LEGACY)
                strcpy(c->address, d->address);
        *ret_fd = fd;
        return 1;
}

bool backend_space_has_group(const backend_space *s, int group)
{
        for (size_t i = 0; i < s->n_claims; i++)
                if (s->claims[i].group == group)
                        return true;
        return false;
}

void backend_release_group(backend_space *s, int group)
{
        size_t k = 0;

        for (size_t i = 0; i < s->n_claims; i++) {
                if (s->claims[i].group == group)
                        safe_close(s->claims[i].fd);
                else
                        s->claims[k++] = s->claims[i];
        }
        s->n_claims = k;
}

int backend_path_grant(backend *b, int group, uid_t uid)
{
        if (group < 0 || uid == (uid_t)-1)
                return -EINVAL;
        if (b->kind != BACKEND_LEGACY || !b->ops->path_grant)
                return -EOPNOTSUPP;
        return b->ops->path_grant(b, group, uid);
}

static int path_reset(backend *b, int group)
{
        if (group < 0)
                return -EINVAL;
        if (b->kind != BACKEND_LEGACY || !b->ops->path_revoke)
                return -EOPNOTSUPP;
        return b->ops->path_revoke(b, group);
}

int backend_path_revoke(backend *b, int group)
{
        int r = path_reset(b, group);

        if (r < 0)
                return r;
        /* The lessee owned the node and could open it to others: that ends here too. */
        if (r & NODE_ACCESS_CHANGED)
                log_warning("AUDIT dev/vfio/%d had been opened to others during its lease; "
                            "repaired to root:root 0600 without an ACL.",
                            group);
        return 0;
}

int backend_path_repair(backend *b, int group)
{
        int r = path_reset(b, group);

        if (r < 0)
                return r;
        if (r != 0)
                log_warning("AUDIT dev/vfio/%d was not root:root 0600 without an ACL (%s%s); "
                            "repaired.",
                            group, r & NODE_OWNER_CHANGED ? "owner" : "",
                            r & NODE_ACCESS_CHANGED
                                    ? (r & NODE_OWNER_CHANGED ? ", access" : "access")
                                    : "");
        return 0;
}
