/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The backends without VFIO hardware: selection, and the path checks every node goes through,
 * on trees whose character devices are /dev/null's number (1:3). The ioctls fail there with
 * -ENOTTY, which shows the path checks passed and the ioctl came first; the ioctls themselves
 * are exercised on a real kernel in the VM tier. The fake backend runs on generated trees. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../fakesys/fakesys.h"
#include "backend-internal.h"
#include "log.h"
#include "model.h"
#include "sysfs.h"
#include "tests.h"

static const char *python, *script;
static bool can_mknod;

typedef struct tree {
        char root[256];
        int root_fd, dev_fd, sys_fd;
} tree;

static void mkparents(int root_fd, const char *path)
{
        char buf[512];

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
                *p = 0;
                if (mkdirat(root_fd, buf, 0755) < 0 && errno != EEXIST)
                        fakesys_die(buf);
                *p = '/';
        }
}

static void put(const tree *t, const char *path, const char *content)
{
        int fd;

        mkparents(t->root_fd, path);
        fd = openat(t->root_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content))
                fakesys_die(path);
        close(fd);
}

static void link_(const tree *t, const char *path, const char *target)
{
        mkparents(t->root_fd, path);
        (void)unlinkat(t->root_fd, path, 0);
        if (symlinkat(target, t->root_fd, path) < 0)
                fakesys_die(path);
}

/* A character device with /dev/null's number, or false where mknod is not allowed. */
static bool node(const tree *t, const char *path, unsigned minor)
{
        mkparents(t->root_fd, path);
        (void)unlinkat(t->root_fd, path, 0);
        return mknodat(t->root_fd, path, S_IFCHR | 0600, makedev(1, minor)) == 0;
}

static void tree_open(tree *t)
{
        t->dev_fd = openat(t->root_fd, "dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
        t->sys_fd = openat(t->root_fd, "sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(t->dev_fd >= 0 && t->sys_fd >= 0);
}

/* What a kernel with iommufd, vfio cdevs and the container shows, one group (5), one cdev. */
static void tree_new(tree *t)
{
        const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

        snprintf(t->root, sizeof(t->root), "%s/ioasid-backend-XXXXXX", tmp);
        ASSERT_TRUE(mkdtemp(t->root));
        t->root_fd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(t->root_fd >= 0);
        can_mknod = node(t, "dev/iommu", 3);
        if (!can_mknod)
                return;
        ASSERT_TRUE(node(t, "dev/vfio/vfio", 3));
        ASSERT_TRUE(node(t, "dev/vfio/5", 3));
        ASSERT_TRUE(node(t, "dev/vfio/6", 3));
        ASSERT_TRUE(node(t, "dev/vfio/devices/vfio0", 3));
        put(t, "sys/devices/virtual/misc/iommu/dev", "1:3\n");
        link_(t, "sys/class/misc/iommu", "../../devices/virtual/misc/iommu");
        put(t, "sys/devices/virtual/misc/vfio/dev", "1:3\n");
        link_(t, "sys/class/misc/vfio", "../../devices/virtual/misc/vfio");
        put(t, "sys/devices/virtual/vfio/5/dev", "1:3\n");
        link_(t, "sys/class/vfio/5", "../../devices/virtual/vfio/5");
        put(t, "sys/devices/virtual/vfio/6/dev", "1:5\n"); /* not what dev/vfio/6 is */
        link_(t, "sys/class/vfio/6", "../../devices/virtual/vfio/6");
        put(t, "sys/devices/pci0000:00/0000:00:03.0/vfio-dev/vfio0/dev", "1:3\n");
        link_(t, "sys/class/vfio-dev/vfio0",
              "../../devices/pci0000:00/0000:00:03.0/vfio-dev/vfio0");
        tree_open(t);
}

static void tree_free(tree *t)
{
        safe_close(t->dev_fd);
        safe_close(t->sys_fd);
        safe_close(t->root_fd);
        if (nftw(t->root, fakesys_rm_one, 64, FTW_DEPTH | FTW_PHYS) < 0)
                perror(t->root);
}

static void expect_auto(const tree *t, int expect, const char *name, const char *reason_part)
{
        _cleanup_(backend_freep) backend *b = NULL;
        const char *reason = NULL;

        ASSERT_EQ(backend_new(NULL, t->dev_fd, t->sys_fd, &b, &reason), expect);
        ASSERT_STRCONTAINS(reason, reason_part);
        if (expect == 0)
                ASSERT_STREQ(backend_name(b), name);
}

TEST(selection)
{
        _cleanup_(tree_free) tree t = { .dev_fd = -EBADF, .sys_fd = -EBADF };
        _cleanup_(backend_freep) backend *b = NULL;
        const char *reason;
        char proc[PATH_MAX];

        tree_new(&t);
        if (!can_mknod) {
                fprintf(stderr, "mknod not allowed here: skipped\n");
                return;
        }
        snprintf(proc, sizeof(proc), "%s/proc-devices", t.root);
        put(&t, "proc-devices",
            "Character devices:\n  1 mem\n 10 misc\n244 vfio\n"
            "245 vfio-dev\n\nBlock devices:\n  7 loop\n");
        backend_set_proc_devices(proc);
        expect_auto(&t, 0, "iommufd", "vfio device cdevs");
        /* A vfio device without a dev attribute: the kernel makes no cdevs. */
        ASSERT_OK(unlinkat(t.root_fd, "sys/devices/pci0000:00/0000:00:03.0/vfio-dev/vfio0/dev", 0));
        expect_auto(&t, 0, "legacy", "no vfio device cdevs");
        ASSERT_OK(unlinkat(t.root_fd, "sys/class/vfio-dev/vfio0", 0));
        /* No vfio device to look at: the kernel's char regions tell. */
        backend_set_proc_devices(proc);
        expect_auto(&t, 0, "iommufd", "vfio device cdevs");
        put(&t, "proc-devices",
            "Character devices:\n  1 mem\n 10 misc\n244 vfio\n\n"
            "Block devices:\n259 vfio-dev\n");
        expect_auto(&t, 0, "legacy", "works either way");
        ASSERT_OK(unlinkat(t.root_fd, "proc-devices", 0));
        expect_auto(&t, 0, "legacy", "works either way");
        backend_set_proc_devices("/proc/devices");
        ASSERT_OK(unlinkat(t.root_fd, "dev/vfio/vfio", 0));
        expect_auto(&t, 0, "iommufd", "no VFIO container");
        /* Regular files are not kernel nodes, whatever their names. */
        put(&t, "dev/vfio/vfio", "10:196\n");
        ASSERT_OK(unlinkat(t.root_fd, "dev/iommu", 0));
        expect_auto(&t, -EOPNOTSUPP, NULL, "neither");
        link_(&t, "dev/iommu", "/dev/null");
        expect_auto(&t, -EOPNOTSUPP, NULL, "neither");

        ASSERT_ERROR(backend_new("iommufd", t.dev_fd, t.sys_fd, &b, &reason), EOPNOTSUPP);
        ASSERT_STRCONTAINS(reason, "no iommufd");
        ASSERT_ERROR(backend_new("legacy", t.dev_fd, t.sys_fd, &b, &reason), EOPNOTSUPP);
        ASSERT_ERROR(backend_new("vfio", t.dev_fd, t.sys_fd, &b, &reason), EINVAL);
        ASSERT_STRCONTAINS(reason, "unknown");
        ASSERT_OK(backend_new("fake", t.dev_fd, t.sys_fd, &b, &reason));
        ASSERT_STREQ(backend_name(b), "fake");
        ASSERT_EQ(backend_get_kind(b), BACKEND_LEGACY);
        ASSERT_STREQ(backend_kind_to_string(backend_get_kind(b)), "legacy");
}

TEST(proc_devices)
{
        ASSERT_TRUE(backend_proc_devices_has_cdevs("Character devices:\n245 vfio-dev\n"));
        ASSERT_TRUE(backend_proc_devices_has_cdevs("Character devices:\n  1 mem\n245 vfio-dev"));
        ASSERT_FALSE(backend_proc_devices_has_cdevs("Character devices:\n245 vfio-devx\n"));
        ASSERT_FALSE(backend_proc_devices_has_cdevs("Character devices:\n245 vfio\n"));
        ASSERT_FALSE(backend_proc_devices_has_cdevs("Character devices:\n245 xvfio-dev\n"));
        ASSERT_FALSE(backend_proc_devices_has_cdevs("Character devices:\n\nBlock devices:\n"
                                                    "245 vfio-dev\n"));
        ASSERT_FALSE(backend_proc_devices_has_cdevs(""));
}

TEST(spaces_reach_the_ioctl)
{
        _cleanup_(tree_free) tree t = { .dev_fd = -EBADF, .sys_fd = -EBADF };
        _cleanup_(backend_freep) backend *iommufd = NULL, *legacy = NULL;
        backend_space *s = NULL;

        tree_new(&t);
        if (!can_mknod)
                return;
        ASSERT_OK(backend_new("iommufd", t.dev_fd, t.sys_fd, &iommufd, NULL));
        ASSERT_OK(backend_new("legacy", t.dev_fd, t.sys_fd, &legacy, NULL));
        /* /dev/null answers the first ioctl (IOMMU_OPTION, VFIO_GET_API_VERSION) with ENOTTY. */
        ASSERT_ERROR(backend_space_new(iommufd, &s), ENOTTY);
        ASSERT_ERROR(backend_space_new(legacy, &s), ENOTTY);
        ASSERT_TRUE(s == NULL);

        /* sysfs says another number: refused before anything is opened for real. */
        put(&t, "sys/devices/virtual/misc/iommu/dev", "1:5\n");
        ASSERT_ERROR(backend_space_new(iommufd, &s), ENODEV);
        ASSERT_OK(unlinkat(t.root_fd, "sys/class/misc/vfio", 0));
        ASSERT_ERROR(backend_space_new(legacy, &s), ENOENT);
        /* A class link that leaves the sysfs root is not followed. */
        link_(&t, "sys/class/misc/vfio", "../../../../../../../sys/devices/virtual/misc/vfio");
        ASSERT_ERROR(backend_space_new(legacy, &s), EXDEV);
}

static void expect_claim(backend *b, const char *cdev, dev_t devnum, int expect)
{
        model_device d = {
                .address = "0000:00:03.0", .group = 5, .cdev = (char *)cdev, .cdev_devnum = devnum
        };
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        ASSERT_EQ(b->ops->claim(b, NULL, &d, &fd), expect);
        if (expect < 0) {
                ASSERT_TRUE(fd < 0);
                return;
        }
        ASSERT_OK(fstat(fd, &st));
        ASSERT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == devnum);
        ASSERT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
        ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

TEST(cdev_checks)
{
        _cleanup_(tree_free) tree t = { .dev_fd = -EBADF, .sys_fd = -EBADF };
        _cleanup_(backend_freep) backend *b = NULL;

        tree_new(&t);
        if (!can_mknod)
                return;
        ASSERT_OK(backend_new("iommufd", t.dev_fd, t.sys_fd, &b, NULL));
        expect_claim(b, "vfio0", makedev(1, 3), 0);
        /* The number sysfs gave the device is not the node's: a stale or planted node. */
        expect_claim(b, "vfio0", makedev(1, 5), -ENODEV);
        expect_claim(b, NULL, makedev(1, 3), -ENODEV);
        expect_claim(b, "vfio0", 0, -ENODEV);
        expect_claim(b, "../vfio/devices/vfio0", makedev(1, 3), -ENODEV);
        expect_claim(b, "vfio1", makedev(1, 3), -ENOENT);
        ASSERT_TRUE(node(&t, "dev/zero-elsewhere", 3));
        link_(&t, "dev/vfio/devices/vfio2", "../../zero-elsewhere");
        expect_claim(b, "vfio2", makedev(1, 3), -ENODEV);
        link_(&t, "dev/vfio/devices/vfio3", "/dev/null");
        expect_claim(b, "vfio3", makedev(1, 3), -ENODEV);
        put(&t, "dev/vfio/devices/vfio4", "1:3\n");
        expect_claim(b, "vfio4", makedev(1, 3), -ENODEV);

        /* A symlink higher up the path. */
        ASSERT_TRUE(node(&t, "elsewhere/vfio0", 3));
        ASSERT_OK(unlinkat(t.root_fd, "dev/vfio/devices/vfio0", 0));
        ASSERT_OK(unlinkat(t.root_fd, "dev/vfio/devices/vfio2", 0));
        ASSERT_OK(unlinkat(t.root_fd, "dev/vfio/devices/vfio3", 0));
        ASSERT_OK(unlinkat(t.root_fd, "dev/vfio/devices/vfio4", 0));
        ASSERT_OK(unlinkat(t.root_fd, "dev/vfio/devices", AT_REMOVEDIR));
        link_(&t, "dev/vfio/devices", "../../elsewhere");
        expect_claim(b, "vfio0", makedev(1, 3), -ENODEV);
}

TEST(groups_and_path_mode)
{
        _cleanup_(tree_free) tree t = { .dev_fd = -EBADF, .sys_fd = -EBADF };
        _cleanup_(backend_freep) backend *b = NULL;
        model_device d = { .address = "0000:00:03.0", .group = 5 };
        backend_space s = { .fd = -EBADF };
        struct stat st;
        int fd = -EBADF;

        tree_new(&t);
        if (!can_mknod)
                return;
        ASSERT_OK(backend_new("legacy", t.dev_fd, t.sys_fd, &b, NULL));
        s.backend = b;
        ASSERT_ERROR(b->ops->claim(b, &s, &d, &fd), ENOTTY); /* VFIO_GROUP_GET_STATUS */
        d.group = 6;
        ASSERT_ERROR(b->ops->claim(b, &s, &d, &fd), ENODEV);
        d.group = 7;
        ASSERT_ERROR(b->ops->claim(b, &s, &d, &fd), ENOENT);
        ASSERT_TRUE(fd < 0);

        ASSERT_ERROR(backend_path_grant(b, 5, 1000), ENOTTY);
        ASSERT_ERROR(backend_path_grant(b, 6, 1000), ENODEV);
        ASSERT_ERROR(backend_path_grant(b, -1, 1000), EINVAL);
        ASSERT_OK(fchownat(t.dev_fd, "vfio/5", 1000, -1, AT_SYMLINK_NOFOLLOW));
        ASSERT_OK(backend_path_revoke(b, 5));
        ASSERT_OK(fstatat(t.dev_fd, "vfio/5", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, 0);
        ASSERT_OK(backend_path_revoke(b, 7)); /* no node: nothing left to take back */
        ASSERT_ERROR(backend_path_revoke(b, 6), ENODEV);
}

/* A POSIX access ACL in the kernel's xattr format: owner rw, uid 12345 rw, mask rw. */
static void add_acl(int dev_fd, const char *path)
{
        static const uint32_t acl[] = { 2,          0x00060001, UINT32_MAX, 0x00060002,
                                        12345,      0x00000004, UINT32_MAX, 0x00060010,
                                        UINT32_MAX, 0x00000020, UINT32_MAX };
        char proc[64];
        _cleanup_close_ int fd = openat(dev_fd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);

        ASSERT_TRUE(fd >= 0);
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        ASSERT_OK(setxattr(proc, "system.posix_acl_access", acl, sizeof(acl), 0));
}

static void assert_root_only(int fd)
{
        char proc[64];
        struct stat st;

        ASSERT_OK(fstat(fd, &st));
        ASSERT_EQ(st.st_uid, 0);
        ASSERT_EQ(st.st_gid, 0);
        ASSERT_EQ(st.st_mode & 07777, 0600);
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        ASSERT_TRUE(getxattr(proc, "system.posix_acl_access", NULL, 0) < 0 && errno == ENODATA);
}

TEST(node_give)
{
        _cleanup_(tree_free) tree t = { .dev_fd = -EBADF, .sys_fd = -EBADF };
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        tree_new(&t);
        if (!can_mknod)
                return;
        fd = openat(t.dev_fd, "vfio/5", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(backend_node_give(fd, "vfio/5", 1000));
        ASSERT_OK(fstat(fd, &st));
        ASSERT_EQ(st.st_uid, 1000);
        ASSERT_OK(backend_node_give(fd, "vfio/5", 1000)); /* again, after a restart */
        ASSERT_ERROR(backend_node_give(fd, "vfio/5", 1001), EBUSY);
        ASSERT_EQ(backend_node_take_back(fd, "vfio/5"), NODE_OWNER_CHANGED);
        assert_root_only(fd);
        ASSERT_EQ(backend_node_take_back(fd, "vfio/5"), 0);

        /* The lessee owns the node: it may open it to everyone, and take-back undoes that. */
        ASSERT_OK(backend_node_give(fd, "vfio/5", 1000));
        ASSERT_OK(fchmodat(t.dev_fd, "vfio/5", 0666, 0));
        add_acl(t.dev_fd, "vfio/5");
        ASSERT_EQ(backend_node_take_back(fd, "vfio/5"), NODE_OWNER_CHANGED | NODE_ACCESS_CHANGED);
        assert_root_only(fd);

        /* Open to others before a grant: closed first, then granted. */
        ASSERT_OK(fchownat(t.dev_fd, "vfio/5", 0, 1000, AT_SYMLINK_NOFOLLOW));
        ASSERT_OK(fchmodat(t.dev_fd, "vfio/5", 0660, 0));
        add_acl(t.dev_fd, "vfio/5");
        ASSERT_OK(backend_node_give(fd, "vfio/5", 1000));
        ASSERT_OK(fstat(fd, &st));
        ASSERT_EQ(st.st_uid, 1000);
        ASSERT_EQ(st.st_gid, 0);
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_EQ(backend_node_take_back(fd, "vfio/5"), NODE_OWNER_CHANGED);
        assert_root_only(fd);
}

TEST(names)
{
        ASSERT_TRUE(backend_cdev_name_valid("vfio0"));
        ASSERT_TRUE(backend_cdev_name_valid("vfio4294967295"));
        ASSERT_FALSE(backend_cdev_name_valid("vfio42949672950"));
        ASSERT_FALSE(backend_cdev_name_valid("vfio"));
        ASSERT_FALSE(backend_cdev_name_valid("vfio0/"));
        ASSERT_FALSE(backend_cdev_name_valid("vfio-1"));
        ASSERT_FALSE(backend_cdev_name_valid("../vfio0"));
        ASSERT_FALSE(backend_cdev_name_valid(NULL));
}

static int fake_new(fakesys *f, const char *kernel, backend **b, model **m)
{
        int dev_fd;
        char dev[300];
        int r;

        fakesys_new(f, python, script, "--layout", "seed", "--kernel", kernel);
        snprintf(dev, sizeof(dev), "%s/dev", f->root);
        dev_fd = open(dev, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dev_fd >= 0);
        r = backend_new("fake", dev_fd, f->sys_fd, b, NULL);
        close(dev_fd);
        ASSERT_OK(model_new(f->sys_fd, NULL, m));
        ASSERT_OK(model_scan(*m, NULL));
        /* As Acquire does before it claims: the cdev numbers the claims check are read then. */
        ASSERT_OK(model_revalidate_group(*m, "0000:00:03.1", NULL));
        return r;
}

TEST(fake_cdevs)
{
        _cleanup_(fakesys_free) fakesys f;
        _cleanup_(backend_freep) backend *b = NULL;
        _cleanup_(model_freep) model *m = NULL;
        _cleanup_(backend_space_freep) backend_space *s = NULL, *s2 = NULL;
        const model_device *d;
        int fd, fd2;

        ASSERT_OK(fake_new(&f, "iommufd", &b, &m));
        ASSERT_EQ(backend_get_kind(b), BACKEND_IOMMUFD);
        expect_auto(&(tree){ .dev_fd = b->dev_fd, .sys_fd = f.sys_fd }, -EOPNOTSUPP, NULL,
                    "neither");
        ASSERT_OK(backend_space_new(b, &s));
        ASSERT_TRUE(backend_space_fd(s) >= 0);

        d = model_find_device(m, "0000:00:03.1"); /* on vfio-pci: vfio0, 248:0 */
        ASSERT_TRUE(d && d->cdev);
        ASSERT_EQ(backend_claim(s, d, &fd), 1);
        ASSERT_EQ(backend_claim(s, d, &fd2), 0);
        ASSERT_EQ(fd, fd2);
        ASSERT_TRUE(backend_space_has_group(s, 2));
        ASSERT_ERROR(backend_claim(s, model_find_device(m, "0000:00:03.0"), &fd), ENODEV);
        ASSERT_ERROR(backend_path_grant(b, 2, 1000), EOPNOTSUPP);
        backend_release_group(s, 2);
        ASSERT_FALSE(backend_space_has_group(s, 2));

        /* A node holding another number, then a symlink, are not the device's cdev. */
        ASSERT_OK(backend_space_new(b, &s2));
        ASSERT_OK(unlinkat(b->dev_fd, "vfio/devices/vfio0", 0));
        ASSERT_OK(symlinkat("vfio9", b->dev_fd, "vfio/devices/vfio0"));
        ASSERT_ERROR(backend_claim(s2, d, &fd), ENODEV);
        ASSERT_OK(unlinkat(b->dev_fd, "vfio/devices/vfio0", 0));
        fd = openat(b->dev_fd, "vfio/devices/vfio0", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0 && write(fd, "248:7\n", 6) == 6);
        close(fd);
        ASSERT_ERROR(backend_claim(s2, d, &fd), ENODEV);
        ASSERT_FALSE(backend_space_has_group(s2, 2));
}

TEST(fake_groups)
{
        _cleanup_(fakesys_free) fakesys f;
        _cleanup_(backend_freep) backend *b = NULL;
        _cleanup_(model_freep) model *m = NULL;
        _cleanup_(backend_space_freep) backend_space *s = NULL;
        model_device sibling = { .address = "0000:00:03.0", .group = 2 };
        const model_device *d;
        struct stat st;
        int fd, fd2;

        ASSERT_OK(fake_new(&f, "legacy", &b, &m));
        ASSERT_EQ(backend_get_kind(b), BACKEND_LEGACY);
        ASSERT_OK(backend_space_new(b, &s));
        d = model_find_device(m, "0000:00:03.1");
        ASSERT_TRUE(d && !d->cdev);
        /* The group fd is the grant for every device of the group: opened once per lease. */
        ASSERT_EQ(backend_claim(s, d, &fd), 1);
        ASSERT_EQ(backend_claim(s, &sibling, &fd2), 0);
        ASSERT_EQ(fd, fd2);
        backend_release_group(s, 2);
        ASSERT_EQ(backend_claim(s, &sibling, &fd2), 1);
        sibling.group = 3; /* no device of group 3 is on vfio-pci: no node */
        ASSERT_ERROR(backend_claim(s, &sibling, &fd2), ENOENT);

        ASSERT_OK(backend_path_grant(b, 2, 1000));
        ASSERT_OK(fstatat(b->dev_fd, "vfio/2", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, 1000);
        ASSERT_ERROR(backend_path_grant(b, 2, 1001), EBUSY);
        ASSERT_OK(backend_path_revoke(b, 2));
        ASSERT_OK(fstatat(b->dev_fd, "vfio/2", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, 0);
        ASSERT_OK(backend_path_revoke(b, 3));

        ASSERT_OK(unlinkat(b->dev_fd, "vfio/2", 0));
        ASSERT_OK(symlinkat("vfio", b->dev_fd, "vfio/2"));
        ASSERT_ERROR(backend_path_grant(b, 2, 1000), ENODEV);
        ASSERT_ERROR(backend_path_revoke(b, 2), ENODEV);
}

int main(int argc, char **argv)
{
        ASSERT_TRUE(argc == 3);
        python = argv[1];
        script = argv[2];
        log_parse_env();
        if (geteuid() != 0) {
                /* chown and mknod need root; the daemon runs as root. */
                fprintf(stderr, "not root: skipped\n");
                return 77;
        }

        RUN(names);
        RUN(proc_devices);
        RUN(selection);
        RUN(spaces_reach_the_ioctl);
        RUN(cdev_checks);
        RUN(groups_and_path_mode);
        RUN(node_give);
        RUN(fake_cdevs);
        RUN(fake_groups);

        /* Again without openat2(): paths are then walked one name at a time. */
        sysfs_set_openat2(false);
        RUN(proc_devices);
        RUN(selection);
        RUN(cdev_checks);
        RUN(fake_cdevs);
        return 0;
}
