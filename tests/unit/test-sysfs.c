/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <sys/sysmacros.h>

#include "../fakesys/fakesys.h"
#include "log.h"
#include "pci-address.h"
#include "sysfs-internal.h"
#include "sysfs.h"
#include "tests.h"

/* What a revalidation knows of a device, for sysfs_read_device_links(). */
#define HINT(pf_, cdev_, group_)                                                                   \
        ((sysfs_links_hint){ .pf = (pf_), .cdev = (cdev_), .group = (group_) })

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

        ASSERT_TRUE(sysfs_numbered_name("vfio0", "vfio"));
        ASSERT_TRUE(sysfs_numbered_name("virtfn127", "virtfn"));
        ASSERT_TRUE(sysfs_numbered_name("vfio1234567890123456789012345678", "vfio"));
        ASSERT_FALSE(sysfs_numbered_name("vfio12345678901234567890123456789", "vfio"));
        ASSERT_FALSE(sysfs_numbered_name("vfio", "vfio"));
        ASSERT_FALSE(sysfs_numbered_name("vfio-pci", "vfio"));
        ASSERT_FALSE(sysfs_numbered_name("vfio1a", "vfio"));
        ASSERT_FALSE(sysfs_numbered_name("virtfn1", "vfio"));
        ASSERT_FALSE(sysfs_numbered_name("", "vfio"));

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
        ASSERT_EQ(pci_address_pack("0000:00:00.0"), 0);
        ASSERT_EQ(pci_address_pack("ffff:ff:1f.7"), 0xffffff1f7ull);
        ASSERT_FALSE(pci_address_valid_str("g000:00:03.0"));
        ASSERT_FALSE(pci_address_valid_str("0000:00:03:0"));
        ASSERT_FALSE(pci_address_valid_str("0000:00:0\xe1.0"));
        for (const char *const *a =
                     (const char *const[]){ "0000:00:00.0", "ffff:ff:1f.7", "0a1b:c2:0d.5", NULL };
             *a; a++) {
                char back[PCI_ADDRESS_SIZE];

                pci_address_unpack(pci_address_pack(*a), back);
                ASSERT_STREQ(back, *a);
        }
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

/* Parses text as the uevent of address into d (which starts with a vendor that must survive a
 * refusal). */
static int uevent(const char *address, const char *text, sysfs_device *d)
{
        *d = (sysfs_device){ .vendor = "0xkept" };
        strcpy(d->address, address);
        return sysfs_parse_pci_uevent(text, strlen(text), d);
}

TEST(uevent_parse)
{
        static const char *const refused[] = {
                "",
                "PCI_CLASS=20000\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0",
                "PCI_CLASS=20000\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0\n\n",
                "PCI_CLASS=20000\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0\nX=\x1b\n",
                "PCI_CLASS=20000\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0\nnoequals\n",
                "PCI_CLASS=20000\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0\n=x\n",
                "PCI_CLASS=20000\nPCI_ID=8086:10D3\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0\n",
                "DRIVER=\nDRIVER=\nPCI_CLASS=0000\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0\n",
                "PCI_CLASS=200\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0\n",
                "PCI_CLASS=1020000\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0\n",
                "PCI_CLASS=2000g\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0\n",
                "PCI_CLASS=20000\nPCI_ID=8086-10D3\nPCI_SLOT_NAME=0000:00:02.0\n",
                "PCI_CLASS=20000\nPCI_ID=8086:10D\nPCI_SLOT_NAME=0000:00:02.0\n",
                "PCI_CLASS=20000\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.1\n",
                "PCI_CLASS=20000\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0/..\n",
                "PCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0\n",
                "PCI_CLASS=20000\nPCI_SLOT_NAME=0000:00:02.0\n",
                "PCI_CLASS=20000\nPCI_ID=8086:10D3\n",
        };
        char long_driver[256];
        sysfs_device d;

        /* As a 6.12 kernel prints it for an xHCI controller on vfio-pci. */
        ASSERT_OK(uevent("0000:00:14.0",
                         "DRIVER=vfio-pci\nPCI_CLASS=C0330\nPCI_ID=8086:A36D\n"
                         "PCI_SUBSYS_ID=8086:7270\nPCI_SLOT_NAME=0000:00:14.0\n"
                         "MODALIAS=pci:v00008086d0000A36Dsv00008086sd00007270bc0Csc03i30\n",
                         &d));
        ASSERT_STREQ(d.vendor, "0x8086");
        ASSERT_STREQ(d.device, "0xa36d");
        ASSERT_STREQ(d.class, "0x0c0330");
        ASSERT_STREQ(d.driver, "vfio-pci");
        ASSERT_FALSE(d.driver_unknown);
        /* %04X gives a class of 0 four digits; no driver, other keys (device tree) skipped. */
        ASSERT_OK(uevent("0000:00:02.0",
                         "OF_NAME=ethernet\nPCI_CLASS=0000\nPCI_ID=1af4:1041\n"
                         "PCI_SLOT_NAME=0000:00:02.0\n",
                         &d));
        ASSERT_STREQ(d.class, "0x000000");
        ASSERT_STREQ(d.device, "0x1041");
        ASSERT_STREQ(d.driver, "");
        ASSERT_FALSE(d.driver_unknown);

        /* A driver that is no driver name is bound all the same: unknown, never "none". */
        ASSERT_OK(uevent("0000:00:02.0",
                         "DRIVER=\nPCI_CLASS=20000\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0\n",
                         &d));
        ASSERT_TRUE(d.driver_unknown);
        ASSERT_STREQ(d.driver, "");
        ASSERT_OK(uevent("0000:00:02.0",
                         "DRIVER=../e1000e\nPCI_CLASS=20000\nPCI_ID=8086:10D3\n"
                         "PCI_SLOT_NAME=0000:00:02.0\n",
                         &d));
        ASSERT_TRUE(d.driver_unknown);
        snprintf(long_driver, sizeof(long_driver),
                 "DRIVER=%065d\nPCI_CLASS=20000\nPCI_ID=8086:10D3\nPCI_SLOT_NAME=0000:00:02.0\n",
                 0);
        ASSERT_OK(uevent("0000:00:02.0", long_driver, &d));
        ASSERT_TRUE(d.driver_unknown);

        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                ASSERT_ERROR(uevent("0000:00:02.0", refused[i], &d), EBADMSG);
                ASSERT_STREQ(d.vendor, "0xkept");
        }
}

/* Every device of a generated tree reads the same from its uevent attribute as from its
 * attributes and driver link, and the scan's read agrees with the full one. */
TEST(uevent_agrees)
{
        _cleanup_(fakesys_free) fakesys f;
        char(*addrs)[PCI_ADDRESS_SIZE];
        char path[PATH_MAX], uevent_path[PATH_MAX + 8];
        size_t n;

        fakesys_new(&f, python, script, "--layout", "seed", "--bridge-driver", "pcieport");
        ASSERT_OK(fakesys_run(&f, "set-numvfs", "0000:00:05.0", "0"));
        ASSERT_OK(fakesys_run(&f, "set-numvfs", "0000:00:05.0", "2", "--driver", "vfio-pci"));
        ASSERT_OK(fakesys_run(&f, "unbind", "0000:00:03.1"));
        ASSERT_OK(sysfs_list_devices(f.sys_fd, &addrs, &n));
        ASSERT_EQ(n, 14);
        for (size_t i = 0; i < n; i++) {
                sysfs_device full, brief, plain, none;

                ASSERT_OK(sysfs_read_device(f.sys_fd, -EBADF, addrs[i], &full));
                ASSERT_TRUE(full.details);
                ASSERT_OK(sysfs_read_device_brief(f.sys_fd, -EBADF, addrs[i], &brief, path));
                ASSERT_FALSE(brief.details);
                ASSERT_EQ(brief.group, -1);
                snprintf(uevent_path, sizeof(uevent_path), "%s/uevent", path);
                ASSERT_OK(unlinkat(f.sys_fd, uevent_path, 0));
                ASSERT_OK(sysfs_read_device(f.sys_fd, -EBADF, addrs[i], &plain));
                ASSERT_ERROR(sysfs_read_device_brief(f.sys_fd, -EBADF, addrs[i], &none, path),
                             ENODATA);
                ASSERT_STREQ(full.vendor, plain.vendor);
                ASSERT_STREQ(full.device, plain.device);
                ASSERT_STREQ(full.class, plain.class);
                ASSERT_STREQ(full.driver, plain.driver);
                ASSERT_STREQ(brief.class, plain.class);
                ASSERT_STREQ(brief.driver, plain.driver);
                ASSERT_EQ(full.group, plain.group);
                ASSERT_FALSE(plain.driver_unknown);
        }
        free(addrs);
}

TEST(cdevs)
{
        _cleanup_(fakesys_free) fakesys f;
        sysfs_cdev *c;
        sysfs_device d;
        fakesys_capture cap;
        size_t n;

        fakesys_new(&f, python, script, "--layout", "seed", "--vfs", "2");
        ASSERT_OK(fakesys_run(&f, "bind", "0000:00:00.0", "vfio-pci"));
        ASSERT_OK(sysfs_list_cdevs(f.sys_fd, &c, &n));
        ASSERT_EQ(n, 2);
        ASSERT_STREQ(c[0].address, "0000:00:00.0");
        ASSERT_STREQ(c[0].name, "vfio1");
        ASSERT_STREQ(c[0].dir, "devices/pci0000:00/0000:00:00.0");
        ASSERT_STREQ(c[1].address, "0000:00:03.1");
        ASSERT_STREQ(c[1].name, "vfio0");
        sysfs_cdevs_free(c, n);

        /* Links elsewhere, under another name, out of the root, and a name that is no cdev. */
        fakesys_symlink(&f, "class/vfio-dev/vfio7",
                        "../../devices/pci0000:00/0000:00:03.1/vfio-dev/vfio0");
        fakesys_symlink(&f, "class/vfio-dev/vfio8", "../../../../etc/vfio-dev/vfio8");
        fakesys_symlink(&f, "class/vfio-dev/vfio9", "../../kernel/0000:00:03.1/vfio-dev/vfio9");
        fakesys_symlink(&f, "class/vfio-dev/vfio10", "../../devices/0000:00:03.1/vfio-dev/vfio10");
        fakesys_symlink(&f, "class/vfio-dev/vfio11", "../../devices/x/0000:00:3.1/vfio-dev/vfio11");
        fakesys_symlink(&f, "class/vfio-dev/x", "../../devices/pci0000:00/0000:00:03.1/vfio-dev/x");
        ASSERT_OK(mkdirat(f.sys_fd, "class/vfio-dev/vfio12", 0755));
        fakesys_capture_begin(&cap);
        ASSERT_OK(sysfs_list_cdevs(f.sys_fd, &c, &n));
        ASSERT_STRCONTAINS(fakesys_capture_end(&cap), "Skipping vfio7 in class/vfio-dev");
        ASSERT_EQ(n, 3);
        ASSERT_STREQ(c[2].name, "vfio10");
        ASSERT_STREQ(c[2].dir, "devices/0000:00:03.1");
        sysfs_cdevs_free(c, n);

        fakesys_symlink(&f, "class/vfio-dev", "/etc");
        ASSERT_ERROR(sysfs_list_cdevs(f.sys_fd, &c, &n), ELOOP);
        ASSERT_OK(sysfs_read_device_links(f.sys_fd, -EBADF, "0000:00:05.0", &HINT(true, NULL, -1),
                                          &d));
        ASSERT_EQ(d.sriov_numvfs, 2);
        ASSERT_STREQ(d.driver, "igb");
        ASSERT_EQ(d.group, 4);
}

/* Revalidation's shortcut: the cdev name the model had is read directly, and anything else
 * than that name with a readable number falls back to listing vfio-dev. */
TEST(cdev_known_name)
{
        _cleanup_(fakesys_free) fakesys f;
        static const char dev[] = "devices/pci0000:00/0000:00:03.1/vfio-dev";
        char from[300], to[300];
        sysfs_device d;

        fakesys_new(&f, python, script, "--layout", "seed");
        ASSERT_OK(sysfs_read_device_links(f.sys_fd, -EBADF, "0000:00:03.1",
                                          &HINT(false, "vfio0", -1), &d));
        ASSERT_STREQ(d.cdev, "vfio0");
        ASSERT_EQ(d.cdev_devnum, makedev(248, 0));
        /* A stale or hostile name: listed, as without one. */
        ASSERT_OK(sysfs_read_device_links(f.sys_fd, -EBADF, "0000:00:03.1",
                                          &HINT(false, "vfio9", -1), &d));
        ASSERT_STREQ(d.cdev, "vfio0");
        ASSERT_OK(sysfs_read_device_links(f.sys_fd, -EBADF, "0000:00:03.1",
                                          &HINT(false, "../../x", -1), &d));
        ASSERT_STREQ(d.cdev, "vfio0");
        /* The number is read each time. */
        snprintf(from, sizeof(from), "%s/vfio0/dev", dev);
        fakesys_write(&f, from, "248:7\n");
        ASSERT_OK(sysfs_read_device_links(f.sys_fd, -EBADF, "0000:00:03.1",
                                          &HINT(false, "vfio0", -1), &d));
        ASSERT_EQ(d.cdev_devnum, makedev(248, 7));
        /* Rebound under another name: the old one is gone, the new one found. */
        snprintf(from, sizeof(from), "%s/vfio0", dev);
        snprintf(to, sizeof(to), "%s/vfio3", dev);
        ASSERT_OK(renameat(f.sys_fd, from, f.sys_fd, to));
        ASSERT_OK(sysfs_read_device_links(f.sys_fd, -EBADF, "0000:00:03.1",
                                          &HINT(false, "vfio0", -1), &d));
        ASSERT_STREQ(d.cdev, "vfio3");
        ASSERT_EQ(d.cdev_devnum, makedev(248, 7));
        /* A group the caller just listed the device in: its link is not read. */
        ASSERT_OK(unlinkat(f.sys_fd, "devices/pci0000:00/0000:00:03.1/iommu_group", 0));
        ASSERT_OK(sysfs_read_device_links(f.sys_fd, -EBADF, "0000:00:03.1", &HINT(false, NULL, 2),
                                          &d));
        ASSERT_EQ(d.group, 2);
        ASSERT_OK(sysfs_read_device_links(f.sys_fd, -EBADF, "0000:00:03.1", &HINT(false, NULL, -1),
                                          &d));
        ASSERT_EQ(d.group, -1);
        /* A directory without its dev attribute yet (mid-probe): named, no number. */
        snprintf(from, sizeof(from), "%s/vfio3/dev", dev);
        ASSERT_OK(unlinkat(f.sys_fd, from, 0));
        ASSERT_OK(sysfs_read_device_links(f.sys_fd, -EBADF, "0000:00:03.1",
                                          &HINT(false, "vfio3", -1), &d));
        ASSERT_STREQ(d.cdev, "vfio3");
        ASSERT_EQ(d.cdev_devnum, 0);
}

/* The attributes whose read takes the device lock (driver_override, sriov_numvfs) are never
 * read: a bind or unbind holds that lock as long as it runs, vfio-pci's unbind until the
 * device's user closes it, and the event loop would wait with it. Here they are FIFOs without
 * a writer, whose open blocks; the alarm fails the test instead of hanging it. */
TEST(device_lock_attributes)
{
        _cleanup_(fakesys_free) fakesys f;
        static const char *const fifos[] = { "devices/pci0000:00/0000:00:05.0/sriov_numvfs",
                                             "devices/pci0000:00/0000:00:05.0/driver_override",
                                             "devices/pci0000:00/0000:00:03.1/driver_override" };
        sysfs_device d;

        fakesys_new(&f, python, script, "--layout", "seed");
        for (size_t i = 0; i < ELEMENTSOF(fifos); i++) {
                ASSERT_OK(unlinkat(f.sys_fd, fifos[i], 0));
                ASSERT_OK(mkfifoat(f.sys_fd, fifos[i], 0644));
        }
        alarm(10);
        ASSERT_OK(sysfs_read_device(f.sys_fd, -EBADF, "0000:00:05.0", &d));
        ASSERT_EQ(d.sriov_numvfs, 4);
        ASSERT_OK(sysfs_read_device_links(f.sys_fd, -EBADF, "0000:00:05.0", &HINT(true, NULL, -1),
                                          &d));
        ASSERT_EQ(d.sriov_numvfs, 4);
        ASSERT_OK(sysfs_read_device(f.sys_fd, -EBADF, "0000:00:03.1", &d));
        ASSERT_STREQ(d.driver, "vfio-pci");
        alarm(0);
}

TEST(read_seed)
{
        _cleanup_(fakesys_free) fakesys f;
        sysfs_device d;
        sysfs_group g;
        char(*addrs)[PCI_ADDRESS_SIZE];
        int *groups;
        size_t n;
        char buf[64];

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
        ASSERT_OK(sysfs_read_attr(f.sys_fd, "devices/pci0000:00/0000:00:03.0/driver_override", buf,
                                  sizeof(buf)));
        ASSERT_STREQ(buf, "vfio-pci");
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

        /* A uevent attribute the kernel would not write is not used: the attributes and the
         * driver link are read one by one instead, and what they say goes. */
        fakesys_write(&f, "devices/pci0000:00/0000:00:03.0/uevent",
                      "DRIVER=e1000e\nPCI_CLASS=20000\nPCI_ID=1AF4:1041\n"
                      "PCI_SLOT_NAME=0000:00:03.1\n");
        ASSERT_OK(read_logged(&f, "0000:00:03.0", &d, "Ignoring the uevent attribute"));
        ASSERT_STREQ(d.driver, "virtio-pci");
        ASSERT_STREQ(d.vendor, "0x1af4");

        /* Without it, a driver link out of the root must not read as "no driver". */
        ASSERT_OK(unlinkat(f.sys_fd, "devices/pci0000:00/0000:00:03.0/uevent", 0));
        ASSERT_OK(sysfs_read_device(f.sys_fd, -EBADF, "0000:00:03.0", &d));
        ASSERT_STREQ(d.driver, "virtio-pci");
        ASSERT_STREQ(d.class, "0x020000");
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

        /* A uevent naming no driver name: a driver we cannot vouch for. */
        fakesys_write(&f, "devices/pci0000:00/0000:00:03.1/uevent",
                      "DRIVER=vfio pci\nPCI_CLASS=20000\nPCI_ID=1AF4:1041\n"
                      "PCI_SLOT_NAME=0000:00:03.1\n");
        ASSERT_OK(read_logged(&f, "0000:00:03.1", &d, "Refusing the driver of 0000:00:03.1"));
        ASSERT_STREQ(d.driver, "");
        ASSERT_TRUE(d.driver_unknown);
        /* A uevent that is a link is not followed, nor used. */
        ASSERT_OK(unlinkat(f.sys_fd, "devices/pci0000:00/0000:00:03.1/uevent", 0));
        fakesys_symlink(&f, "devices/pci0000:00/0000:00:03.1/uevent", "/etc/hostname");
        ASSERT_OK(read_logged(&f, "0000:00:03.1", &d, "Ignoring the uevent attribute"));
        ASSERT_STREQ(d.driver, "vfio-pci");
        ASSERT_OK(unlinkat(f.sys_fd, "devices/pci0000:00/0000:00:03.1/uevent", 0));

        /* Without a uevent, the attributes: missing, a symlink, oversized, malformed. */
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
        RUN(uevent_parse);
        RUN(uevent_agrees);
        RUN(cdevs);
        RUN(cdev_known_name);
        RUN(device_lock_attributes);
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
