/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <sys/sysmacros.h>

#include "../fakesys/fakesys.h"
#include "log.h"
#include "pci-address.h"
#include "sysfs.h"
#include "tests.h"

static const char *python, *script;

static int clean(const char *in, char *out)
{
        size_t n = strlen(in);

        memcpy(out, in, n + 1);
        return sysfs_attr_clean(out, n);
}

TEST(attr_clean)
{
        char buf[64];

        ASSERT_EQ(clean("0x8086\n", buf), 6);
        ASSERT_STREQ(buf, "0x8086");
        ASSERT_EQ(clean("DMA-FQ", buf), 6);
        ASSERT_EQ(clean("", buf), 0);
        ASSERT_EQ(clean("\n", buf), 0);
        ASSERT_ERROR(clean("a\nb\n", buf), EBADMSG);
        ASSERT_ERROR(clean("a\n\n", buf), EBADMSG);
        ASSERT_ERROR(clean("a\tb", buf), EBADMSG);
        ASSERT_ERROR(clean("\x1b[31m", buf), EBADMSG);
        ASSERT_ERROR(clean("caf\xc3\xa9", buf), EBADMSG);
        memcpy(buf, "ab\0cd", 5);
        ASSERT_ERROR(sysfs_attr_clean(buf, 5), EBADMSG);
}

TEST(names)
{
        char long_name[80];

        ASSERT_TRUE(sysfs_name_valid("vfio-pci"));
        ASSERT_TRUE(sysfs_name_valid("mlx5_vfio_pci"));
        ASSERT_TRUE(sysfs_name_valid("..."));
        ASSERT_FALSE(sysfs_name_valid(""));
        ASSERT_FALSE(sysfs_name_valid("."));
        ASSERT_FALSE(sysfs_name_valid(".."));
        ASSERT_FALSE(sysfs_name_valid("a/b"));
        ASSERT_FALSE(sysfs_name_valid("a b"));
        ASSERT_FALSE(sysfs_name_valid("a\x7f"));
        memset(long_name, 'a', 64);
        long_name[64] = 0;
        ASSERT_TRUE(sysfs_name_valid(long_name));
        long_name[64] = 'a';
        long_name[65] = 0;
        ASSERT_FALSE(sysfs_name_valid(long_name));
}

TEST(numbers)
{
        int v;
        dev_t d;

        ASSERT_OK(sysfs_parse_group("0", &v));
        ASSERT_EQ(v, 0);
        ASSERT_OK(sysfs_parse_group("4095", &v));
        ASSERT_EQ(v, 4095);
        ASSERT_OK(sysfs_parse_group("2147483647", &v));
        ASSERT_EQ(v, INT_MAX);
        ASSERT_ERROR(sysfs_parse_group("2147483648", &v), ERANGE);
        ASSERT_ERROR(sysfs_parse_group("012", &v), EINVAL);
        ASSERT_ERROR(sysfs_parse_group("-1", &v), EINVAL);
        ASSERT_ERROR(sysfs_parse_group("1a", &v), EINVAL);
        ASSERT_ERROR(sysfs_parse_group("", &v), EINVAL);
        ASSERT_ERROR(sysfs_parse_group("+1", &v), EINVAL);
        ASSERT_OK(sysfs_parse_uint("007", &v));
        ASSERT_EQ(v, 7);

        ASSERT_OK(sysfs_parse_devnum("248:0", &d));
        ASSERT_EQ(d, makedev(248, 0));
        ASSERT_OK(sysfs_parse_devnum("4095:1048575", &d));
        ASSERT_EQ(d, makedev(4095, 1048575));
        ASSERT_ERROR(sysfs_parse_devnum("4096:0", &d), ERANGE);
        ASSERT_ERROR(sysfs_parse_devnum("1:1048576", &d), ERANGE);
        ASSERT_ERROR(sysfs_parse_devnum("248:", &d), EINVAL);
        ASSERT_ERROR(sysfs_parse_devnum(":0", &d), EINVAL);
        ASSERT_ERROR(sysfs_parse_devnum("1:2:3", &d), EINVAL);
        ASSERT_ERROR(sysfs_parse_devnum("248", &d), EINVAL);

        ASSERT_TRUE(sysfs_id_valid("0x8086", 4));
        ASSERT_TRUE(sysfs_id_valid("0x020000", 6));
        ASSERT_FALSE(sysfs_id_valid("0x80861", 4));
        ASSERT_FALSE(sysfs_id_valid("0x808", 4));
        ASSERT_FALSE(sysfs_id_valid("0X8086", 4));
        ASSERT_FALSE(sysfs_id_valid("0x80AB", 4));
        ASSERT_FALSE(sysfs_id_valid("8086", 4));
}

TEST(addresses)
{
        ASSERT_TRUE(pci_address_valid_str("0000:00:03.0"));
        ASSERT_TRUE(pci_address_valid_str("ffff:ff:1f.7"));
        ASSERT_FALSE(pci_address_valid_str("0000:00:03.0x"));
        ASSERT_FALSE(pci_address_valid_str("0000:00:03.8"));
        ASSERT_FALSE(pci_address_valid_str("0000:00:3.0"));
        ASSERT_FALSE(pci_address_valid_str("0000:00:03.A"));
        ASSERT_FALSE(pci_address_valid_str("0000:00:0A.0"));
        ASSERT_FALSE(pci_address_valid_str("../x"));
        ASSERT_FALSE(pci_address_valid_str("0000.00:03:0"));
        ASSERT_FALSE(pci_address_valid_str(NULL));
        ASSERT_TRUE(pci_address_pack("0000:00:03.1") > pci_address_pack("0000:00:03.0"));
        ASSERT_TRUE(pci_address_pack("0000:01:00.0") > pci_address_pack("0000:00:1f.7"));
        ASSERT_TRUE(pci_address_pack("0001:00:00.0") > pci_address_pack("0000:ff:1f.7"));
}

static void assert_resolves(const char *dir, const char *target, const char *expect)
{
        char out[256];

        ASSERT_OK(sysfs_link_resolve(dir, target, out, sizeof(out)));
        ASSERT_STREQ(out, expect);
}

TEST(link_resolve)
{
        char out[32];

        assert_resolves("bus/pci/devices", "../../../devices/pci0000:00/0000:00:03.0",
                        "devices/pci0000:00/0000:00:03.0");
        assert_resolves("devices/pci0000:00/0000:00:04.0/0000:01:01.0",
                        "../../../../bus/pci/drivers/e1000", "bus/pci/drivers/e1000");
        assert_resolves("devices/pci0000:00/0000:00:15.0", "../0000:00:05.0",
                        "devices/pci0000:00/0000:00:05.0");
        assert_resolves("a", "./b//c/./../d/", "a/b/d");
        assert_resolves("a/b", "../..", "");
        assert_resolves("", "x", "x");
        ASSERT_ERROR(sysfs_link_resolve("bus/pci/devices", "/etc", out, sizeof(out)), EXDEV);
        ASSERT_ERROR(sysfs_link_resolve("bus/pci/devices", "../../../..", out, sizeof(out)), EXDEV);
        ASSERT_ERROR(sysfs_link_resolve("a", "../../a", out, sizeof(out)), EXDEV);
        ASSERT_ERROR(sysfs_link_resolve("a", "", out, sizeof(out)), EINVAL);
        ASSERT_ERROR(sysfs_link_resolve("a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", out,
                                        sizeof(out)),
                     ENAMETOOLONG);
}

TEST(read_seed)
{
        _cleanup_(fakesys_free) fakesys f;
        sysfs_device d;
        sysfs_group g;
        char(*addrs)[PCI_ADDRESS_SIZE];
        int *groups;
        size_t n;

        fakesys_new(&f, python, script, "--layout", "seed", "--bridge-driver", "pcieport");

        ASSERT_OK(sysfs_list_devices(f.sys_fd, &addrs, &n));
        ASSERT_EQ(n, 16);
        free(addrs);
        ASSERT_OK(sysfs_list_groups(f.sys_fd, &groups, &n));
        ASSERT_EQ(n, 11);
        free(groups);

        ASSERT_OK(sysfs_read_device(f.sys_fd, -EBADF, "0000:00:03.1", &d));
        ASSERT_EQ(d.group, 2);
        ASSERT_STREQ(d.vendor, "0x1af4");
        ASSERT_STREQ(d.device, "0x1041");
        ASSERT_STREQ(d.class, "0x020000");
        ASSERT_STREQ(d.driver, "vfio-pci");
        ASSERT_FALSE(d.driver_unknown);
        ASSERT_STREQ(d.driver_override, "");
        ASSERT_STREQ(d.cdev, "vfio0");
        ASSERT_EQ(d.cdev_devnum, makedev(248, 0));
        ASSERT_EQ(d.sriov_totalvfs, -1);

        /* Behind the bridge: one directory deeper, links one ../ longer. */
        ASSERT_OK(sysfs_read_device(f.sys_fd, -EBADF, "0000:01:02.0", &d));
        ASSERT_EQ(d.group, 3);
        ASSERT_STREQ(d.driver, "e1000");
        ASSERT_STREQ(d.cdev, "");

        ASSERT_OK(sysfs_read_device(f.sys_fd, -EBADF, "0000:00:05.0", &d));
        ASSERT_EQ(d.sriov_totalvfs, 8);
        ASSERT_EQ(d.sriov_numvfs, 4);
        ASSERT_OK(sysfs_read_device(f.sys_fd, -EBADF, "0000:00:15.2", &d));
        ASSERT_STREQ(d.physfn, "0000:00:05.0");
        ASSERT_STREQ(d.driver, "igbvf");
        ASSERT_EQ(d.sriov_totalvfs, -1);

        ASSERT_ERROR(sysfs_read_device(f.sys_fd, -EBADF, "0000:00:09.0", &d), ENOENT);
        ASSERT_ERROR(sysfs_read_device(f.sys_fd, -EBADF, "../x", &d), EINVAL);

        ASSERT_OK(sysfs_read_group(f.sys_fd, 3, &g));
        ASSERT_STREQ(g.type, "DMA");
        ASSERT_EQ(g.n_devices, 3);
        ASSERT_STREQ(g.devices[0], "0000:00:04.0");
        ASSERT_STREQ(g.devices[1], "0000:01:01.0");
        ASSERT_STREQ(g.devices[2], "0000:01:02.0");
        ASSERT_EQ(g.n_foreign, 0);
        sysfs_group_done(&g);
        ASSERT_ERROR(sysfs_read_group(f.sys_fd, 99, &g), ENOENT);

        /* Writes go to the attribute itself. */
        ASSERT_OK(sysfs_write_attr(f.sys_fd, "devices/pci0000:00/0000:00:03.0/driver_override",
                                   "vfio-pci"));
        ASSERT_OK(sysfs_read_device(f.sys_fd, -EBADF, "0000:00:03.0", &d));
        ASSERT_STREQ(d.driver_override, "vfio-pci");
}

TEST(legacy_kernel)
{
        _cleanup_(fakesys_free) fakesys f;
        sysfs_device d;

        fakesys_new(&f, python, script, "--layout", "seed", "--kernel", "legacy");
        ASSERT_OK(sysfs_read_device(f.sys_fd, -EBADF, "0000:00:03.1", &d));
        ASSERT_STREQ(d.driver, "vfio-pci");
        ASSERT_STREQ(d.cdev, "");
        ASSERT_EQ(d.cdev_devnum, 0);
}

/* Runs a read with stderr captured; the log must mention `needle`. */
static int read_logged(const fakesys *f, const char *address, sysfs_device *d, const char *needle)
{
        fakesys_capture c;
        int r;

        fakesys_capture_begin(&c);
        r = sysfs_read_device(f->sys_fd, -EBADF, address, d);
        ASSERT_STRCONTAINS(fakesys_capture_end(&c), needle);
        return r;
}

TEST(hostile)
{
        _cleanup_(fakesys_free) fakesys f;
        char(*addrs)[PCI_ADDRESS_SIZE];
        int *groups;
        sysfs_device d;
        sysfs_group g;
        fakesys_capture c;
        size_t n;

        fakesys_new(&f, python, script, "--layout", "seed", "--vfs", "0");

        /* Names in bus/pci/devices that are not addresses are skipped, with a log line. */
        fakesys_symlink(&f, "bus/pci/devices/0000:00:03.0x",
                        "../../../devices/pci0000:00/0000:00:03.0");
        fakesys_symlink(&f, "bus/pci/devices/..x", "../../../devices/pci0000:00/0000:00:03.0");
        fakesys_capture_begin(&c);
        ASSERT_OK(sysfs_list_devices(f.sys_fd, &addrs, &n));
        ASSERT_STRCONTAINS(fakesys_capture_end(&c), "Skipping 0000:00:03.0x in bus/pci/devices");
        ASSERT_EQ(n, 12);
        free(addrs);

        /* Device links that leave the root, or land elsewhere inside it. */
        fakesys_symlink(&f, "bus/pci/devices/0000:00:09.0", "/etc");
        ASSERT_EQ(read_logged(&f, "0000:00:09.0", &d, "points outside the sysfs root"), -EXDEV);
        fakesys_symlink(&f, "bus/pci/devices/0000:00:0a.0", "../../../../../../../../..");
        ASSERT_EQ(read_logged(&f, "0000:00:0a.0", &d, "points outside the sysfs root"), -EXDEV);
        fakesys_symlink(&f, "bus/pci/devices/0000:00:0b.0", "../../../kernel/0000:00:0b.0");
        ASSERT_EQ(read_logged(&f, "0000:00:0b.0", &d, "does not point into devices/"), -EINVAL);
        /* A symlink in the middle of a device path is never followed. */
        fakesys_symlink(&f, "devices/pci0000:00/0000:00:0c.0", "/");
        fakesys_symlink(&f, "bus/pci/devices/0000:00:0c.0",
                        "../../../devices/pci0000:00/0000:00:0c.0");
        ASSERT_EQ(read_logged(&f, "0000:00:0c.0", &d, "cannot open its directory"), -ELOOP);

        /* A driver link out of the root must not read as "no driver". */
        fakesys_symlink(&f, "devices/pci0000:00/0000:00:03.0/driver", "/etc");
        ASSERT_OK(read_logged(&f, "0000:00:03.0", &d, "driver link of 0000:00:03.0"));
        ASSERT_STREQ(d.driver, "");
        ASSERT_TRUE(d.driver_unknown);
        fakesys_symlink(&f, "devices/pci0000:00/0000:00:03.0/driver", "../../../../../..");
        ASSERT_OK(read_logged(&f, "0000:00:03.0", &d, "points outside the sysfs root"));
        ASSERT_TRUE(d.driver_unknown);
        fakesys_symlink(&f, "devices/pci0000:00/0000:00:03.0/driver",
                        "../../../kernel/iommu_groups/2");
        ASSERT_OK(read_logged(&f, "0000:00:03.0", &d, "does not point into bus/pci/drivers/"));
        ASSERT_TRUE(d.driver_unknown);
        fakesys_symlink(&f, "devices/pci0000:00/0000:00:03.0/driver",
                        "../../../bus/pci/drivers/..");
        ASSERT_OK(read_logged(&f, "0000:00:03.0", &d, "does not point into bus/pci/drivers/"));
        ASSERT_TRUE(d.driver_unknown);

        /* The group link likewise: no group rather than a wrong one. */
        fakesys_symlink(&f, "devices/pci0000:00/0000:00:03.0/iommu_group", "/etc");
        ASSERT_OK(read_logged(&f, "0000:00:03.0", &d, "iommu_group link of 0000:00:03.0"));
        ASSERT_EQ(d.group, -1);
        fakesys_symlink(&f, "devices/pci0000:00/0000:00:03.0/iommu_group",
                        "../../../kernel/iommu_groups/02");
        ASSERT_OK(read_logged(&f, "0000:00:03.0", &d, "not a group number"));
        ASSERT_EQ(d.group, -1);

        /* Attributes: missing, a symlink, oversized, malformed. */
        ASSERT_OK(unlinkat(f.sys_fd, "devices/pci0000:00/0000:00:03.1/vendor", 0));
        ASSERT_OK(sysfs_read_device(f.sys_fd, -EBADF, "0000:00:03.1", &d));
        ASSERT_STREQ(d.vendor, "");
        ASSERT_STREQ(d.device, "0x1041");
        ASSERT_STREQ(d.driver, "vfio-pci");
        fakesys_symlink(&f, "devices/pci0000:00/0000:00:03.1/vendor", "/etc/hostname");
        ASSERT_OK(read_logged(&f, "0000:00:03.1", &d, "Ignoring vendor of 0000:00:03.1"));
        ASSERT_STREQ(d.vendor, "");
        {
                char big[SYSFS_ATTR_MAX + 100];

                memset(big, 'a', sizeof(big) - 1);
                big[sizeof(big) - 1] = 0;
                fakesys_write(&f, "devices/pci0000:00/0000:00:03.1/class", big);
        }
        ASSERT_OK(read_logged(&f, "0000:00:03.1", &d, "Ignoring class of 0000:00:03.1"));
        ASSERT_STREQ(d.class, "");
        fakesys_write(&f, "devices/pci0000:00/0000:00:03.1/device", "0x10\x01\n");
        ASSERT_OK(read_logged(&f, "0000:00:03.1", &d, "Ignoring device of 0000:00:03.1"));
        ASSERT_STREQ(d.device, "");
        fakesys_write(&f, "devices/pci0000:00/0000:00:03.1/driver_override", "a/b\n");
        ASSERT_OK(read_logged(&f, "0000:00:03.1", &d, "Ignoring driver_override"));
        ASSERT_STREQ(d.driver_override, "");

        /* Group directories: non-numeric names skipped, odd members counted as foreign. */
        ASSERT_OK(mkdirat(f.sys_fd, "kernel/iommu_groups/abc", 0755));
        ASSERT_OK(mkdirat(f.sys_fd, "kernel/iommu_groups/07", 0755));
        fakesys_capture_begin(&c);
        ASSERT_OK(sysfs_list_groups(f.sys_fd, &groups, &n));
        ASSERT_STRCONTAINS(fakesys_capture_end(&c), "Skipping abc in kernel/iommu_groups");
        ASSERT_EQ(n, 7);
        free(groups);
        fakesys_symlink(&f, "kernel/iommu_groups/2/devices/..x", "/etc");
        fakesys_symlink(&f, "kernel/iommu_groups/2/devices/platform", "/etc");
        fakesys_write(&f, "kernel/iommu_groups/2/type", "DMA\x1b\n");
        ASSERT_OK(sysfs_read_group(f.sys_fd, 2, &g));
        ASSERT_EQ(g.n_devices, 2);
        ASSERT_EQ(g.n_foreign, 2);
        ASSERT_STREQ(g.type, "");
        sysfs_group_done(&g);
        fakesys_symlink(&f, "kernel/iommu_groups/50", "/etc");
        ASSERT_ERROR(sysfs_read_group(f.sys_fd, 50, &g), ELOOP);
}

TEST(group_members)
{
        _cleanup_(sysfs_group_done) sysfs_group g = {};

        ASSERT_EQ(sysfs_group_add_member(&g, "0000:00:03.1"), 1);
        ASSERT_EQ(sysfs_group_add_member(&g, "0000:00:03.0"), 1);
        ASSERT_EQ(sysfs_group_add_member(&g, "0000:00:03.2"), 1);
        ASSERT_EQ(sysfs_group_add_member(&g, "0000:00:03.0"), 0);
        ASSERT_EQ(g.n_devices, 3);
        ASSERT_STREQ(g.devices[0], "0000:00:03.0");
        ASSERT_STREQ(g.devices[2], "0000:00:03.2");
        sysfs_group_remove_member(&g, "0000:00:03.1");
        sysfs_group_remove_member(&g, "0000:00:09.0");
        ASSERT_EQ(g.n_devices, 2);
        ASSERT_STREQ(g.devices[1], "0000:00:03.2");
}

int main(int argc, char **argv)
{
        ASSERT_TRUE(argc == 3);
        python = argv[1];
        script = argv[2];
        log_parse_env();

        RUN(attr_clean);
        RUN(names);
        RUN(numbers);
        RUN(addresses);
        RUN(link_resolve);
        RUN(read_seed);
        RUN(legacy_kernel);
        RUN(hostile);
        RUN(group_members);

        /* Again without openat2(), as on kernels and sandboxes that lack it. */
        sysfs_set_openat2(false);
        RUN(read_seed);
        RUN(hostile);
        return 0;
}
