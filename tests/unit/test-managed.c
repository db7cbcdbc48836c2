/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Managed binding on generated trees. The kernel's part, acting on each sysfs write before it
 * returns, is played by kernel_write() below: driver_override is stored as sysfs shows it,
 * unbind, bind and drivers_probe change the tree through mkfakesys.py as the kernel would
 * (probing binds to driver_override, or else to the device's native driver). Failures are
 * injected there: a write that fails, or a probe that binds nothing while saying success. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "../fakesys/fakesys.h"
#include "log.h"
#include "managed.h"
#include "tests.h"

static const char *python, *script;

typedef struct kernel {
        fakesys f;
        const char *fail_path, *fail_value; /* this write fails with -fail_error */
        int fail_error;
        const char *probe_binds_nothing; /* drivers_probe of this address does nothing */
        struct {
                const char *address, *driver;
        } native[8];     /* what probing binds without an override */
        char log[16384]; /* every write, "path=value\n" */
} kernel;

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), k = strlen(suffix);

        return n >= k && streq(s + n - k, suffix);
}

static void driver_of(const kernel *k, const char *address, char *buf, size_t size)
{
        char link[128], target[512];
        ssize_t n;

        snprintf(link, sizeof(link), "bus/pci/devices/%s/driver", address);
        n = readlinkat(k->f.sys_fd, link, target, sizeof(target) - 1);
        if (n < 0) {
                ASSERT_EQ(errno, ENOENT);
                buf[0] = 0;
                return;
        }
        target[n] = 0;
        snprintf(buf, size, "%s", strrchr(target, '/') + 1);
}

static void override_of(const kernel *k, const char *address, char *buf, size_t size)
{
        char path[128];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "bus/pci/devices/%s/driver_override", address);
        fd = openat(k->f.sys_fd, path, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        n = read(fd, buf, size - 1);
        close(fd);
        ASSERT_TRUE(n > 0 && buf[n - 1] == '\n');
        buf[n - 1] = 0;
}

static const char *native_driver(const kernel *k, const char *address)
{
        for (size_t i = 0; i < ELEMENTSOF(k->native) && k->native[i].address; i++)
                if (streq(k->native[i].address, address))
                        return k->native[i].driver;
        return NULL;
}

static int kernel_write(int root_fd, const char *path, const char *value, void *userdata)
{
        kernel *k = userdata;
        char driver[64], now[64];
        size_t len = strlen(k->log);

        snprintf(k->log + len, sizeof(k->log) - len, "%s=%s\n", path,
                 streq(value, "\n") ? "\\n" : value);
        if (k->fail_path && ends_with(path, k->fail_path) && streq(value, k->fail_value))
                return -k->fail_error;

        if (ends_with(path, "/driver_override")) {
                int fd = openat(root_fd, path, O_WRONLY | O_TRUNC | O_CLOEXEC);
                char content[80];

                snprintf(content, sizeof(content), "%s\n",
                         streq(value, "\n") || !value[0] ? "(null)" : value);
                ASSERT_TRUE(fd >= 0);
                ASSERT_EQ(write(fd, content, strlen(content)), (ssize_t)strlen(content));
                close(fd);
                return 0;
        }
        if (streq(path, "bus/pci/drivers_probe")) {
                const char *target = NULL;
                char override[80];

                driver_of(k, value, now, sizeof(now));
                if (now[0])
                        return 0;
                override_of(k, value, override, sizeof(override));
                if (!streq(override, "(null)"))
                        target = streq_ptr(value, k->probe_binds_nothing) ? NULL : override;
                else
                        target = native_driver(k, value);
                if (target)
                        ASSERT_EQ(fakesys_run(&k->f, "bind", value, target), 0);
                return 0;
        }
        ASSERT_EQ(sscanf(path, "bus/pci/drivers/%63[^/]/", driver), 1);
        driver_of(k, value, now, sizeof(now));
        if (ends_with(path, "/unbind")) {
                if (!streq(now, driver))
                        return -ENODEV;
                ASSERT_EQ(fakesys_run(&k->f, "unbind", value), 0);
                return 0;
        }
        ASSERT_TRUE(ends_with(path, "/bind"));
        if (now[0])
                return -EBUSY;
        ASSERT_EQ(fakesys_run(&k->f, "bind", value, driver), 0);
        return 0;
}

static void kernel_new(kernel *k)
{
        static const char *const seed[][2] = {
                { "0000:00:03.0", "virtio-pci" }, { "0000:01:01.0", "e1000" },
                { "0000:01:02.0", "e1000" },      { "0000:00:1f.0", "lpc_ich" },
                { "0000:00:1f.2", "ahci" },       { "0000:00:1f.3", "i801_smbus" },
        };

        *k = (kernel){};
        fakesys_new(&k->f, python, script, "--layout", "seed");
        for (size_t i = 0; i < ELEMENTSOF(seed); i++) {
                k->native[i].address = seed[i][0];
                k->native[i].driver = seed[i][1];
        }
}

static void kernel_free(kernel *k)
{
        fakesys_free(&k->f);
}

static managed_sysfs sysfs_of(kernel *k)
{
        return (managed_sysfs){ .root_fd = k->f.sys_fd, .write = kernel_write, .userdata = k };
}

static void assert_on(const kernel *k, const char *address, const char *driver,
                      const char *override)
{
        char now[64], ov[80];

        driver_of(k, address, now, sizeof(now));
        ASSERT_STREQ(now, driver);
        override_of(k, address, ov, sizeof(ov));
        ASSERT_STREQ(ov, override);
}

/* The writes since the last call, in order. */
static void assert_writes(kernel *k, const char *expect)
{
        ASSERT_STREQ(k->log, expect);
        k->log[0] = 0;
}

#define BRIDGE_DEV "devices/pci0000:00/0000:00:04.0/"

TEST(bind_and_restore)
{
        _cleanup_(kernel_free) kernel k;
        const char *const group3[] = { "0000:01:01.0", "0000:01:02.0" };
        managed_device m[2];
        managed_sysfs s;
        char *error = NULL;

        kernel_new(&k);
        s = sysfs_of(&k);
        ASSERT_OK(managed_bind(&s, group3, 2, m, &error));
        ASSERT_TRUE(error == NULL);
        assert_on(&k, "0000:01:01.0", "vfio-pci", "vfio-pci");
        assert_on(&k, "0000:01:02.0", "vfio-pci", "vfio-pci");
        ASSERT_STREQ(m[0].original_driver, "e1000");
        ASSERT_TRUE(m[0].changed && m[1].changed);
        assert_writes(&k, BRIDGE_DEV "0000:01:01.0/driver_override=vfio-pci\n"
                                     "bus/pci/drivers/e1000/unbind=0000:01:01.0\n"
                                     "bus/pci/drivers_probe=0000:01:01.0\n" BRIDGE_DEV
                                     "0000:01:02.0/driver_override=vfio-pci\n"
                                     "bus/pci/drivers/e1000/unbind=0000:01:02.0\n"
                                     "bus/pci/drivers_probe=0000:01:02.0\n");

        ASSERT_OK(managed_restore(&s, m, 2, &error));
        ASSERT_TRUE(error == NULL);
        assert_on(&k, "0000:01:01.0", "e1000", "(null)");
        assert_on(&k, "0000:01:02.0", "e1000", "(null)");
        assert_writes(&k, "bus/pci/drivers/vfio-pci/unbind=0000:01:02.0\n" BRIDGE_DEV
                          "0000:01:02.0/driver_override=\\n\n"
                          "bus/pci/drivers_probe=0000:01:02.0\n"
                          "bus/pci/drivers/vfio-pci/unbind=0000:01:01.0\n" BRIDGE_DEV
                          "0000:01:01.0/driver_override=\\n\n"
                          "bus/pci/drivers_probe=0000:01:01.0\n");
}

TEST(vfio_members_left_alone)
{
        _cleanup_(kernel_free) kernel k;
        const char *const group2[] = { "0000:00:03.0", "0000:00:03.1" };
        managed_device m[2];
        managed_sysfs s;

        kernel_new(&k);
        s = sysfs_of(&k);
        ASSERT_OK(managed_bind(&s, group2, 2, m, NULL));
        ASSERT_TRUE(m[0].changed);
        ASSERT_FALSE(m[1].changed);
        ASSERT_STREQ(m[1].original_driver, "vfio-pci");
        ASSERT_TRUE(strstr(k.log, "0000:00:03.1") == NULL);
        ASSERT_OK(managed_restore(&s, m, 2, NULL));
        assert_on(&k, "0000:00:03.0", "virtio-pci", "(null)");
        assert_on(&k, "0000:00:03.1", "vfio-pci", "(null)");
}

static void assert_group6_untouched(const kernel *k)
{
        assert_on(k, "0000:00:1f.0", "lpc_ich", "(null)");
        assert_on(k, "0000:00:1f.2", "ahci", "(null)");
        assert_on(k, "0000:00:1f.3", "i801_smbus", "(null)");
}

static const char *const group6[] = { "0000:00:1f.0", "0000:00:1f.2", "0000:00:1f.3" };

TEST(probe_binds_nothing)
{
        _cleanup_(kernel_free) kernel k;
        _cleanup_free_ char *error = NULL;
        managed_device m[3];
        managed_sysfs s;

        kernel_new(&k);
        s = sysfs_of(&k);
        /* The middle device: drivers_probe succeeds, no driver takes it. */
        k.probe_binds_nothing = "0000:00:1f.2";
        ASSERT_ERROR(managed_bind(&s, group6, 3, m, &error), ENODEV);
        ASSERT_STRCONTAINS(error, "0000:00:1f.2: no driver took it after probing");
        assert_group6_untouched(&k);
        ASSERT_TRUE(strstr(k.log, "1f.3") == NULL);
        /* Undone in reverse: the failed device from where it stopped, then the first. */
        ASSERT_STRCONTAINS(k.log, "bus/pci/drivers_probe=0000:00:1f.2\n"
                                  "devices/pci0000:00/0000:00:1f.2/driver_override=\\n\n"
                                  "bus/pci/drivers_probe=0000:00:1f.2\n"
                                  "bus/pci/drivers/vfio-pci/unbind=0000:00:1f.0\n"
                                  "devices/pci0000:00/0000:00:1f.0/driver_override=\\n\n"
                                  "bus/pci/drivers_probe=0000:00:1f.0\n");
}

TEST(write_fails)
{
        _cleanup_(kernel_free) kernel k;
        _cleanup_free_ char *error = NULL;
        managed_device m[3];
        managed_sysfs s;

        kernel_new(&k);
        s = sysfs_of(&k);
        k.fail_path = "bus/pci/drivers/ahci/unbind";
        k.fail_value = "0000:00:1f.2";
        k.fail_error = EBUSY;
        ASSERT_ERROR(managed_bind(&s, group6, 3, m, &error), EBUSY);
        ASSERT_STRCONTAINS(error, "0000:00:1f.2: unbinding it from ahci");
        assert_group6_untouched(&k);
        free(error);

        /* The very first write: nothing else is tried. */
        k.log[0] = 0;
        k.fail_path = "1f.0/driver_override";
        k.fail_value = "vfio-pci";
        k.fail_error = EACCES;
        ASSERT_ERROR(managed_bind(&s, group6, 3, m, &error), EACCES);
        ASSERT_STRCONTAINS(error, "0000:00:1f.0: setting driver_override");
        assert_group6_untouched(&k);
        ASSERT_TRUE(strstr(k.log, "1f.2") == NULL);
}

TEST(refused_before_writing)
{
        _cleanup_(kernel_free) kernel k;
        _cleanup_free_ char *error = NULL;
        const char *const bad[] = { "0000:00:1f.0", "../../x" };
        const char *const twice[] = { "0000:00:1f.0", "0000:00:1f.0" };
        const char *const taken[] = { "0000:00:1f.0", "0000:00:1f.3" };
        const char *const hostile[] = { "0000:01:01.0", "0000:01:02.0" };
        managed_device m[2];
        managed_sysfs s;

        kernel_new(&k);
        s = sysfs_of(&k);
        ASSERT_ERROR(managed_bind(&s, bad, 2, m, NULL), EINVAL);
        ASSERT_ERROR(managed_bind(&s, twice, 2, m, NULL), EINVAL);
        ASSERT_STREQ(k.log, "");

        /* Someone else's driver_override: the first device is undone. */
        fakesys_write(&k.f, "devices/pci0000:00/0000:00:1f.3/driver_override", "pci-stub\n");
        ASSERT_ERROR(managed_bind(&s, taken, 2, m, &error), EBUSY);
        ASSERT_STRCONTAINS(error, "0000:00:1f.3: driver_override is set to pci-stub");
        assert_on(&k, "0000:00:1f.0", "lpc_ich", "(null)");
        assert_on(&k, "0000:00:1f.3", "i801_smbus", "pci-stub");
        free(error);

        /* A driver link out of the tree is never followed nor used in a path. */
        fakesys_symlink(&k.f, BRIDGE_DEV "0000:01:02.0/driver", "/etc");
        ASSERT_ERROR(managed_bind(&s, hostile, 2, m, &error), EXDEV);
        ASSERT_STRCONTAINS(error, "0000:01:02.0: reading its driver link");
        assert_on(&k, "0000:01:01.0", "e1000", "(null)");
}

TEST(driverless)
{
        _cleanup_(kernel_free) kernel k;
        const char *const host_bridge[] = { "0000:00:00.0" };
        managed_device m[1];
        managed_sysfs s;

        kernel_new(&k);
        s = sysfs_of(&k);
        ASSERT_OK(managed_bind(&s, host_bridge, 1, m, NULL));
        ASSERT_STREQ(m[0].original_driver, "");
        assert_writes(&k, "devices/pci0000:00/0000:00:00.0/driver_override=vfio-pci\n"
                          "bus/pci/drivers_probe=0000:00:00.0\n");
        ASSERT_OK(managed_restore(&s, m, 1, NULL));
        /* It had no driver: none is probed for it. */
        assert_writes(&k, "bus/pci/drivers/vfio-pci/unbind=0000:00:00.0\n"
                          "devices/pci0000:00/0000:00:00.0/driver_override=\\n\n");
        assert_on(&k, "0000:00:00.0", "", "(null)");
}

TEST(restore_goes_on)
{
        _cleanup_(kernel_free) kernel k;
        _cleanup_free_ char *error = NULL;
        const char *const group3[] = { "0000:01:01.0", "0000:01:02.0" };
        managed_device m[2];
        managed_sysfs s;

        kernel_new(&k);
        s = sysfs_of(&k);
        ASSERT_OK(managed_bind(&s, group3, 2, m, NULL));
        /* e1000 no longer takes 01:02.0 (restored first): 01:01.0 is still restored. */
        k.native[2].driver = NULL;
        k.fail_path = "bus/pci/drivers/e1000/bind";
        k.fail_value = "0000:01:02.0";
        k.fail_error = ENODEV;
        ASSERT_ERROR(managed_restore(&s, m, 2, &error), ENODEV);
        ASSERT_STRCONTAINS(error, "0000:01:02.0: putting it back on e1000 (it is on no driver)");
        assert_on(&k, "0000:01:02.0", "", "(null)");
        assert_on(&k, "0000:01:01.0", "e1000", "(null)");
}

TEST(restore_vanished)
{
        _cleanup_(kernel_free) kernel k;
        const char *const one[] = { "0000:01:01.0" };
        managed_device m[1];
        managed_sysfs s;

        kernel_new(&k);
        s = sysfs_of(&k);
        ASSERT_OK(managed_bind(&s, one, 1, m, NULL));
        ASSERT_EQ(fakesys_run(&k.f, "remove-device", "0000:01:01.0"), 0);
        k.log[0] = 0;
        ASSERT_OK(managed_restore(&s, m, 1, NULL));
        ASSERT_STREQ(k.log, "");
}

/* Without anyone playing the kernel the writes only change files: the driver link check is what
 * notices that nothing was bound. */
TEST(no_kernel)
{
        _cleanup_(kernel_free) kernel k;
        _cleanup_free_ char *error = NULL;
        const char *const one[] = { "0000:00:1f.0" };
        managed_sysfs s;
        managed_device m[1];

        kernel_new(&k);
        s = (managed_sysfs){ .root_fd = k.f.sys_fd };
        ASSERT_ERROR(managed_bind(&s, one, 1, m, &error), ENODEV);
        ASSERT_STRCONTAINS(error, "0000:00:1f.0: bound to lpc_ich after probing");
}

int main(int argc, char **argv)
{
        ASSERT_TRUE(argc == 3);
        python = argv[1];
        script = argv[2];
        log_parse_env();

        RUN(bind_and_restore);
        RUN(vfio_members_left_alone);
        RUN(probe_binds_nothing);
        RUN(write_fails);
        RUN(refused_before_writing);
        RUN(driverless);
        RUN(restore_goes_on);
        RUN(restore_vanished);
        RUN(no_kernel);
        return 0;
}
