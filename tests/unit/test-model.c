/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../fakesys/fakesys.h"
#include "log.h"
#include "model.h"
#include "sysfs.h"
#include "tests.h"

static const char *python, *script;

static size_t count(const model_changes *c, model_change_kind kind)
{
        size_t n = 0;

        for (size_t i = 0; i < c->n; i++)
                n += c->items[i].kind == kind;
        return n;
}

/* The one change of this kind about this address (device) or group (address NULL). */
static const model_change *find(const model_changes *c, model_change_kind kind, const char *address,
                                int group)
{
        const model_change *found = NULL;

        for (size_t i = 0; i < c->n; i++)
                if (c->items[i].kind == kind &&
                    (address ? streq(c->items[i].address, address) : c->items[i].group == group)) {
                        ASSERT_TRUE(!found);
                        found = &c->items[i];
                }
        ASSERT_TRUE(found);
        return found;
}

static void dump(const model_changes *c)
{
        for (size_t i = 0; i < c->n; i++)
                fprintf(stderr, "   %s %s group=%d %s->%s viable %d->%d\n",
                        model_change_kind_to_string(c->items[i].kind), c->items[i].address,
                        c->items[i].group, c->items[i].old_driver ?: "-",
                        c->items[i].new_driver ?: "-", c->items[i].viable_before,
                        c->items[i].viable_after);
}

static void update(model *m, const char *address, model_changes *c)
{
        model_changes_clear(c);
        ASSERT_OK(model_update_device(m, address, c));
        dump(c);
}

static void scan(model *m, model_changes *c)
{
        model_changes_clear(c);
        ASSERT_OK(model_scan(m, c));
        dump(c);
}

/* The changes of 0000:00:03.0 leaving virtio-pci in the seed tree: its driver, and group 2
 * turning viable, which is returned. */
static const model_change *expect_unbound(const model_changes *c)
{
        const model_change *ch;

        ASSERT_EQ(c->n, 2);
        ch = find(c, MODEL_DRIVER_CHANGED, "0000:00:03.0", -1);
        ASSERT_STREQ(ch->old_driver, "virtio-pci");
        ASSERT_TRUE(!ch->new_driver);
        ch = find(c, MODEL_GROUP_CHANGED, NULL, 2);
        ASSERT_FALSE(ch->viable_before);
        ASSERT_TRUE(ch->viable_after);
        return ch;
}

TEST(seed_scan)
{
        _cleanup_(fakesys_free) fakesys f;
        _cleanup_(model_freep) model *m = NULL;
        _cleanup_(model_changes_done) model_changes c = {};
        const model_device *const *devs;
        const model_group *const *groups;
        const model_device *d;
        const model_group *g;
        size_t n;

        fakesys_new(&f, python, script, "--layout", "seed");
        ASSERT_OK(model_new(f.sys_fd, NULL, &m));
        ASSERT_OK(model_scan(m, &c));
        ASSERT_EQ(model_n_devices(m), 16);
        ASSERT_EQ(model_n_groups(m), 11);
        ASSERT_EQ(count(&c, MODEL_DEVICE_ADDED), 16);
        ASSERT_EQ(count(&c, MODEL_GROUP_ADDED), 11);
        ASSERT_EQ(c.n, 27);
        ASSERT_STREQ(find(&c, MODEL_DEVICE_ADDED, "0000:00:03.0", -1)->new_driver, "virtio-pci");

        d = model_find_device(m, "0000:00:03.1");
        ASSERT_TRUE(d);
        ASSERT_EQ(d->group, 2);
        ASSERT_STREQ(d->vendor, "0x1af4");
        ASSERT_STREQ(d->class, "0x020000");
        ASSERT_STREQ(d->driver, "vfio-pci");
        ASSERT_STREQ(d->cdev, "vfio0");
        ASSERT_TRUE(!model_find_device(m, "0000:00:03.7"));
        ASSERT_TRUE(!model_find_device(m, "bogus"));
        /* What only leases need is read when a lease needs it: revalidating learns it, and
         * learning is no change. */
        ASSERT_FALSE(d->details);
        ASSERT_EQ(d->cdev_devnum, 0);
        ASSERT_EQ(model_find_device(m, "0000:00:05.0")->sriov_numvfs, -1);
        model_changes_clear(&c);
        ASSERT_OK(model_revalidate_group(m, "0000:00:03.1", &c));
        ASSERT_OK(model_revalidate_group(m, "0000:00:15.6", &c));
        ASSERT_OK(model_revalidate_group(m, "0000:00:05.0", &c));
        ASSERT_EQ(c.n, 0);
        ASSERT_TRUE(d->details);
        ASSERT_EQ(d->cdev_devnum, makedev(248, 0));
        ASSERT_STREQ(model_find_device(m, "0000:00:15.6")->physfn, "0000:00:05.0");
        ASSERT_EQ(model_find_device(m, "0000:00:05.0")->sriov_numvfs, 4);

        /* Scenario 1: a function on a host driver spoils its sibling's group. */
        g = model_find_group(m, 2);
        ASSERT_TRUE(g);
        ASSERT_STREQ(g->type, "DMA");
        ASSERT_EQ(g->n_devices, 2);
        ASSERT_FALSE(g->viability.viable);
        ASSERT_EQ(g->viability.n_reasons, 1);
        ASSERT_STREQ(g->viability.reasons[0],
                     "0000:00:03.0 is bound to virtio-pci; bind it to vfio-pci or unbind it");
        ASSERT_TRUE(model_group_device(m, g, 1) == d);
        /* Scenario 3: the bridge's group, two conventional devices on e1000. */
        g = model_find_group(m, 3);
        ASSERT_EQ(g->n_devices, 3);
        ASSERT_EQ(g->viability.n_reasons, 2);
        ASSERT_STREQ(g->viability.reasons[0],
                     "0000:01:01.0 is bound to e1000; bind it to vfio-pci or unbind it");
        ASSERT_EQ(model_find_group(m, 6)->viability.n_reasons, 3);
        ASSERT_TRUE(model_find_group(m, 0)->viability.viable);
        ASSERT_FALSE(model_find_group(m, 7)->viability.viable);
        ASSERT_TRUE(!model_find_group(m, 11));

        devs = model_devices(m, &n);
        ASSERT_EQ(n, 16);
        for (size_t i = 1; i < n; i++)
                ASSERT_TRUE(strcmp(devs[i - 1]->address, devs[i]->address) < 0);
        ASSERT_STREQ(devs[0]->address, "0000:00:00.0");
        ASSERT_STREQ(devs[15]->address, "0000:01:02.0");
        groups = model_groups(m, &n);
        ASSERT_EQ(n, 11);
        for (size_t i = 0; i < n; i++)
                ASSERT_EQ(groups[i]->number, (int)i);

        /* Nothing changed, nothing reported. */
        scan(m, &c);
        ASSERT_EQ(c.n, 0);
}

TEST(scenario_updates)
{
        _cleanup_(fakesys_free) fakesys f;
        _cleanup_(model_freep) model *m = NULL;
        _cleanup_(model_changes_done) model_changes c = {};
        const model_change *ch;
        int owner;

        fakesys_new(&f, python, script, "--layout", "seed");
        ASSERT_OK(model_new(f.sys_fd, NULL, &m));
        ASSERT_OK(model_scan(m, NULL));
        ASSERT_OK(model_set_group_owner(m, 2, &owner));
        ASSERT_OK(model_set_device_owner(m, "0000:00:03.1", &owner));
        ASSERT_ERROR(model_set_group_owner(m, 42, &owner), ENOENT);

        /* Unbinding the host driver makes the group viable. */
        ASSERT_EQ(fakesys_run(&f, "unbind", "0000:00:03.0"), 0);
        update(m, "0000:00:03.0", &c);
        ch = expect_unbound(&c);
        ASSERT_TRUE(ch->owner == &owner);
        ASSERT_TRUE(model_find_group(m, 2)->viability.viable);

        /* Binding it to vfio-pci adds a cdev; the verdict stands, so no group change. */
        ASSERT_EQ(fakesys_run(&f, "bind", "0000:00:03.0", "vfio-pci"), 0);
        update(m, "0000:00:03.0", &c);
        ASSERT_EQ(c.n, 2);
        ASSERT_STREQ(find(&c, MODEL_DRIVER_CHANGED, "0000:00:03.0", -1)->new_driver, "vfio-pci");
        find(&c, MODEL_DEVICE_CHANGED, "0000:00:03.0", -1);
        ASSERT_STREQ(model_find_device(m, "0000:00:03.0")->cdev, "vfio1");

        /* Scenario 2f: a host driver binds into the group: it flips back. */
        ASSERT_EQ(fakesys_run(&f, "unbind", "0000:00:03.0"), 0);
        ASSERT_EQ(fakesys_run(&f, "bind", "0000:00:03.0", "e1000e"), 0);
        update(m, "0000:00:03.0", &c);
        ch = find(&c, MODEL_GROUP_CHANGED, NULL, 2);
        ASSERT_TRUE(ch->viable_before);
        ASSERT_FALSE(ch->viable_after);
        ASSERT_STREQ(model_find_group(m, 2)->viability.reasons[0],
                     "0000:00:03.0 is bound to e1000e; bind it to vfio-pci or unbind it");
        ASSERT_TRUE(!model_find_device(m, "0000:00:03.0")->cdev);

        /* Scenario 3: remove one e1000, unbind the other: the bridge's group becomes viable. */
        ASSERT_EQ(fakesys_run(&f, "remove-device", "0000:01:02.0"), 0);
        model_changes_clear(&c);
        ASSERT_OK(model_remove_device(m, "0000:01:02.0", &c));
        dump(&c);
        ASSERT_STREQ(find(&c, MODEL_DEVICE_REMOVED, "0000:01:02.0", -1)->old_driver, "e1000");
        ASSERT_FALSE(find(&c, MODEL_GROUP_CHANGED, NULL, 3)->viable_after);
        ASSERT_EQ(model_find_group(m, 3)->n_devices, 2);
        ASSERT_EQ(fakesys_run(&f, "unbind", "0000:01:01.0"), 0);
        update(m, "0000:01:01.0", &c);
        ASSERT_TRUE(find(&c, MODEL_GROUP_CHANGED, NULL, 3)->viable_after);

        /* Hotplug: a new device in a new group, and its removal takes the group along. */
        ASSERT_EQ(fakesys_run(&f, "add-device", "0000:00:07.0", "--driver", "vfio-pci"), 0);
        update(m, "0000:00:07.0", &c);
        ASSERT_EQ(c.n, 2);
        ASSERT_STREQ(find(&c, MODEL_DEVICE_ADDED, "0000:00:07.0", -1)->new_driver, "vfio-pci");
        ch = find(&c, MODEL_GROUP_ADDED, NULL, 11);
        ASSERT_TRUE(ch->viable_after);
        ASSERT_EQ(fakesys_run(&f, "remove-device", "0000:00:07.0"), 0);
        /* The event may say anything: the tree decides. */
        update(m, "0000:00:07.0", &c);
        ASSERT_EQ(c.n, 2);
        find(&c, MODEL_DEVICE_REMOVED, "0000:00:07.0", -1);
        find(&c, MODEL_GROUP_REMOVED, NULL, 11);
        ASSERT_TRUE(!model_find_group(m, 11));

        /* An unknown device, an invalid address. */
        update(m, "0000:00:1e.0", &c);
        ASSERT_EQ(c.n, 0);
        ASSERT_OK(model_remove_device(m, "0000:00:1e.0", &c));
        ASSERT_ERROR(model_update_device(m, "0000:00:03.0/../x", &c), EINVAL);

        /* SR-IOV: the PF's change event reports its new count, a detail, once its details are
         * known (reading them is no change); a rescan reports the VFs gone and their groups. */
        update(m, "0000:00:05.0", &c);
        ASSERT_EQ(c.n, 0);
        ASSERT_EQ(fakesys_run(&f, "set-numvfs", "0000:00:05.0", "0"), 0);
        update(m, "0000:00:05.0", &c);
        ASSERT_EQ(c.n, 1);
        find(&c, MODEL_DEVICE_CHANGED, "0000:00:05.0", -1);
        scan(m, &c);
        ASSERT_EQ(count(&c, MODEL_DEVICE_REMOVED), 4);
        ASSERT_EQ(count(&c, MODEL_GROUP_REMOVED), 4);
        ASSERT_EQ(c.n, 8);
        ASSERT_EQ(model_n_devices(m), 11);
        ASSERT_EQ(fakesys_run(&f, "set-numvfs", "0000:00:05.0", "8", "--driver", "vfio-pci"), 0);
        scan(m, &c);
        ASSERT_EQ(count(&c, MODEL_DEVICE_ADDED), 8);
        ASSERT_EQ(count(&c, MODEL_GROUP_ADDED), 8);
        ASSERT_TRUE(
                model_find_group(m, model_find_device(m, "0000:00:16.6")->group)->viability.viable);

        /* Owners survive all of it. */
        ASSERT_TRUE(model_find_group(m, 2)->owner == &owner);
        ASSERT_TRUE(model_find_device(m, "0000:00:03.1")->owner == &owner);
}

TEST(identity_and_config)
{
        static const char *const stubs[] = { "virtio-pci", NULL };
        const viability_config cfg = { .vfio_drivers = (const char *const[]){ "vfio-pci", NULL },
                                       .stub_drivers = stubs };
        _cleanup_(fakesys_free) fakesys f;
        _cleanup_(model_freep) model *m = NULL;
        _cleanup_(model_changes_done) model_changes c = {};
        const model_group *g;

        fakesys_new(&f, python, script, "--layout", "seed", "--domain-type", "identity");
        ASSERT_OK(model_new(f.sys_fd, NULL, &m));
        ASSERT_OK(model_scan(m, NULL));
        g = model_find_group(m, 0);
        ASSERT_STREQ(g->type, "identity");
        ASSERT_TRUE(g->viability.viable);
        ASSERT_EQ(g->viability.n_notes, 1);
        ASSERT_STRCONTAINS(g->viability.notes[0], "0000:00:00.0 has no driver and is not isolated");

        /* A policy that allows virtio-pci as a stub makes group 2 viable. */
        model_changes_clear(&c);
        ASSERT_OK(model_set_config(m, &cfg, &c));
        dump(&c);
        ASSERT_TRUE(find(&c, MODEL_GROUP_CHANGED, NULL, 2)->viable_after);
        ASSERT_OK(model_set_config(m, NULL, &c));
}

TEST(hostile)
{
        _cleanup_(fakesys_free) fakesys f;
        _cleanup_(model_freep) model *m = NULL;
        _cleanup_(model_changes_done) model_changes c = {};
        const model_group *g;

        fakesys_new(&f, python, script, "--layout", "seed", "--vfs", "0");
        fakesys_run(&f, "unbind", "0000:00:03.0");
        ASSERT_OK(model_new(f.sys_fd, NULL, &m));
        ASSERT_OK(model_scan(m, NULL));
        ASSERT_TRUE(model_find_group(m, 2)->viability.viable);

        /* A uevent naming no driver name: bound to something we cannot name, so not viable. */
        fakesys_write(&f, "devices/pci0000:00/0000:00:03.0/uevent",
                      "DRIVER=../x\nPCI_CLASS=20000\nPCI_ID=1AF4:1041\n"
                      "PCI_SLOT_NAME=0000:00:03.0\n");
        update(m, "0000:00:03.0", &c);
        ASSERT_FALSE(find(&c, MODEL_GROUP_CHANGED, NULL, 2)->viable_after);
        ASSERT_TRUE(model_find_device(m, "0000:00:03.0")->driver_unknown);
        g = model_find_group(m, 2);
        ASSERT_STREQ(g->viability.reasons[0],
                     "0000:00:03.0 is bound to a driver that cannot be identified; unbind it");
        /* Without the uevent attribute the driver link says it: one out of the root likewise. */
        ASSERT_OK(unlinkat(f.sys_fd, "devices/pci0000:00/0000:00:03.0/uevent", 0));
        fakesys_symlink(&f, "devices/pci0000:00/0000:00:03.0/driver", "/etc");
        update(m, "0000:00:03.0", &c);
        ASSERT_EQ(c.n, 0);
        ASSERT_TRUE(model_find_device(m, "0000:00:03.0")->driver_unknown);

        /* The device itself refused: it leaves the model but not the group's verdict. */
        fakesys_symlink(&f, "bus/pci/devices/0000:00:03.0", "../../../../../../..");
        update(m, "0000:00:03.0", &c);
        find(&c, MODEL_DEVICE_REMOVED, "0000:00:03.0", -1);
        g = model_find_group(m, 2);
        ASSERT_EQ(g->n_devices, 2);
        ASSERT_STREQ(g->viability.reasons[0],
                     "0000:00:03.0 is in the group but its device could not be read");

        /* A full scan agrees, and a bad name in the listing is skipped. */
        fakesys_symlink(&f, "bus/pci/devices/0000:00:03.1x",
                        "../../../devices/pci0000:00/0000:00:03.1");
        ASSERT_OK(mkdirat(f.sys_fd, "kernel/iommu_groups/x1", 0755));
        scan(m, &c);
        ASSERT_EQ(c.n, 0);
        ASSERT_EQ(model_n_devices(m), 11);

        /* A device whose group link names a group the listing lacks is still counted in. */
        ASSERT_OK(unlinkat(f.sys_fd, "kernel/iommu_groups/2/devices/0000:00:03.1", 0));
        scan(m, &c);
        ASSERT_EQ(model_find_group(m, 2)->n_devices, 2);
        update(m, "0000:00:03.1", &c);
        ASSERT_EQ(model_find_group(m, 2)->n_devices, 2);

        /* A group whose member list is refused cannot be vouched for, whoever claims it. */
        fakesys_symlink(&f, "kernel/iommu_groups/0/devices", "/etc");
        scan(m, &c);
        g = model_find_group(m, 0);
        ASSERT_TRUE(g && g->unreadable);
        ASSERT_FALSE(find(&c, MODEL_GROUP_CHANGED, NULL, 0)->viable_after);
        ASSERT_EQ(g->n_devices, 1); /* 0000:00:00.0, by its iommu_group link */
        ASSERT_STREQ(g->viability.reasons[0], "the member list of group 0 could not be read");
        update(m, "0000:00:00.0", &c);
        ASSERT_EQ(c.n, 0);
        ASSERT_TRUE(model_find_group(m, 0)->unreadable);

        /* No group listing at all: every group, known only from its devices, is unreadable. */
        fakesys_symlink(&f, "kernel/iommu_groups", "/etc");
        scan(m, &c);
        ASSERT_EQ(model_n_groups(m), 7);
        ASSERT_FALSE(model_find_group(m, 1)->viability.viable);
        ASSERT_STREQ(model_find_group(m, 6)->viability.reasons[3],
                     "the member list of group 6 could not be read");
}

static void revalidate(model *m, const char *address, model_changes *c)
{
        model_changes_clear(c);
        ASSERT_OK(model_revalidate_group(m, address, c));
        dump(c);
}

/* What the daemon did before revalidating: the device and every member of its group updated in
 * full, one after the other. */
static void update_group(model *m, const char *address, model_changes *c)
{
        const model_group *g;

        model_changes_clear(c);
        ASSERT_OK(model_update_device(m, address, c));
        g = model_find_group(m, model_find_device(m, address)->group);
        for (size_t i = 0; g && i < g->n_devices; i++) {
                char member[PCI_ADDRESS_SIZE];

                memcpy(member, g->devices[i], sizeof(member));
                if (!streq(member, address))
                        ASSERT_OK(model_update_device(m, member, c));
                g = model_find_group(m, model_find_device(m, address)->group);
        }
}

static void assert_same_changes(const model_changes *a, const model_changes *b)
{
        ASSERT_EQ(a->n, b->n);
        for (size_t i = 0; i < a->n; i++) {
                const model_change *x = &a->items[i], *y = &b->items[i];

                ASSERT_EQ(x->kind, y->kind);
                ASSERT_STREQ(x->address, y->address);
                ASSERT_EQ(x->group, y->group);
                ASSERT_TRUE(streq_ptr(x->old_driver, y->old_driver));
                ASSERT_TRUE(streq_ptr(x->new_driver, y->new_driver));
                ASSERT_EQ(x->viable_before, y->viable_before);
                ASSERT_EQ(x->viable_after, y->viable_after);
        }
}

TEST(revalidate)
{
        static const char uevent_path[] = "devices/pci0000:00/0000:00:03.1/uevent";
        _cleanup_(fakesys_free) fakesys f;
        _cleanup_(model_freep) model *m = NULL, *old = NULL;
        _cleanup_(model_changes_done) model_changes c = {}, c_old = {};
        char uevent[512];
        int fd;
        ssize_t n;

        fakesys_new(&f, python, script, "--layout", "seed");
        ASSERT_OK(model_new(f.sys_fd, NULL, &m));
        ASSERT_OK(model_scan(m, NULL));
        ASSERT_OK(model_new(f.sys_fd, NULL, &old));
        ASSERT_OK(model_scan(old, NULL));

        /* The first revalidation reads the details a scan leaves unread; learning is no change. */
        ASSERT_FALSE(model_find_device(m, "0000:00:03.0")->details);
        revalidate(m, "0000:00:03.1", &c);
        ASSERT_EQ(c.n, 0);
        ASSERT_TRUE(model_find_device(m, "0000:00:03.0")->details);
        update_group(old, "0000:00:03.1", &c_old);
        ASSERT_EQ(c_old.n, 0);

        /* Nothing changed: the cheap checks only. An id changed behind the model's back (no
         * kernel does that) shows that nothing else was read again; an update reads it. */
        fd = openat(f.sys_fd, uevent_path, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        n = read(fd, uevent, sizeof(uevent) - 1);
        close(fd);
        ASSERT_TRUE(n > 0);
        uevent[n] = 0;
        fakesys_write(&f, uevent_path,
                      "DRIVER=vfio-pci\nPCI_CLASS=20000\nPCI_ID=1AF4:FFFF\n"
                      "PCI_SLOT_NAME=0000:00:03.1\n");
        revalidate(m, "0000:00:03.1", &c);
        ASSERT_EQ(c.n, 0);
        revalidate(m, "0000:00:03.0", &c);
        ASSERT_EQ(c.n, 0);
        ASSERT_STREQ(model_find_device(m, "0000:00:03.1")->device, "0x1041");
        update(m, "0000:00:03.1", &c);
        find(&c, MODEL_DEVICE_CHANGED, "0000:00:03.1", -1);
        fakesys_write(&f, uevent_path, uevent);
        update(m, "0000:00:03.1", &c);
        ASSERT_STREQ(model_find_device(m, "0000:00:03.1")->device, "0x1041");

        /* A driver gone behind the model's back (its event not read yet): found, and reported
         * as updating every member reports it. */
        ASSERT_EQ(fakesys_run(&f, "unbind", "0000:00:03.0"), 0);
        revalidate(m, "0000:00:03.1", &c);
        update_group(old, "0000:00:03.1", &c_old);
        assert_same_changes(&c, &c_old);
        (void)expect_unbound(&c);
        /* and one bound: the device asked about itself. */
        ASSERT_EQ(fakesys_run(&f, "bind", "0000:00:03.0", "vfio-pci"), 0);
        revalidate(m, "0000:00:03.0", &c);
        update_group(old, "0000:00:03.0", &c_old);
        assert_same_changes(&c, &c_old);
        ASSERT_STREQ(find(&c, MODEL_DRIVER_CHANGED, "0000:00:03.0", -1)->new_driver, "vfio-pci");
        ASSERT_STREQ(model_find_device(m, "0000:00:03.0")->cdev, "vfio1");
        ASSERT_TRUE(model_find_device(m, "0000:00:03.0")->cdev_devnum != 0);
        /* An event read while vfio-pci was probing saw the driver but not yet the cdev it makes
         * (the VM tier's managed Acquire of a hot-added device): the cdev is checked too. */
        ASSERT_OK(renameat(f.sys_fd, "devices/pci0000:00/0000:00:03.0/vfio-dev", f.sys_fd,
                           "devices/pci0000:00/0000:00:03.0/vfio-dev.probing"));
        update(m, "0000:00:03.0", &c);
        ASSERT_TRUE(!model_find_device(m, "0000:00:03.0")->cdev);
        ASSERT_OK(renameat(f.sys_fd, "devices/pci0000:00/0000:00:03.0/vfio-dev.probing", f.sys_fd,
                           "devices/pci0000:00/0000:00:03.0/vfio-dev"));
        /* Only the requested device's cdev is opened: another member's is not read for it... */
        revalidate(m, "0000:00:03.1", &c);
        ASSERT_EQ(c.n, 0);
        ASSERT_TRUE(!model_find_device(m, "0000:00:03.0")->cdev);
        /* ...but when that member is requested. */
        revalidate(m, "0000:00:03.0", &c);
        ASSERT_EQ(c.n, 1);
        find(&c, MODEL_DEVICE_CHANGED, "0000:00:03.0", -1);
        ASSERT_STREQ(model_find_device(m, "0000:00:03.0")->cdev, "vfio1");
        ASSERT_EQ(model_find_device(m, "0000:00:03.0")->cdev_devnum, makedev(248, 1));
        /* or the cdev before its number. */
        ASSERT_OK(renameat(f.sys_fd, "devices/pci0000:00/0000:00:03.0/vfio-dev/vfio1/dev", f.sys_fd,
                           "devices/pci0000:00/0000:00:03.0/vfio-dev/vfio1/dev.x"));
        update(m, "0000:00:03.0", &c);
        ASSERT_EQ(model_find_device(m, "0000:00:03.0")->cdev_devnum, 0);
        ASSERT_OK(renameat(f.sys_fd, "devices/pci0000:00/0000:00:03.0/vfio-dev/vfio1/dev.x",
                           f.sys_fd, "devices/pci0000:00/0000:00:03.0/vfio-dev/vfio1/dev"));
        revalidate(m, "0000:00:03.0", &c);
        find(&c, MODEL_DEVICE_CHANGED, "0000:00:03.0", -1);
        ASSERT_EQ(model_find_device(m, "0000:00:03.0")->cdev_devnum, makedev(248, 1));

        /* A new member in the group: found, with its driver, and the verdict follows (read
         * first, it never shows as a member that could not be read). */
        ASSERT_EQ(
                fakesys_run(&f, "add-device", "0000:00:03.2", "--group", "2", "--driver", "e1000e"),
                0);
        revalidate(m, "0000:00:03.1", &c);
        ASSERT_EQ(c.n, 2);
        ASSERT_STREQ(find(&c, MODEL_DEVICE_ADDED, "0000:00:03.2", -1)->new_driver, "e1000e");
        ASSERT_FALSE(find(&c, MODEL_GROUP_CHANGED, NULL, 2)->viable_after);
        ASSERT_EQ(model_find_group(m, 2)->n_devices, 3);

        /* A member gone: the group lists two again. */
        ASSERT_EQ(fakesys_run(&f, "remove-device", "0000:00:03.2"), 0);
        revalidate(m, "0000:00:03.1", &c);
        find(&c, MODEL_DEVICE_REMOVED, "0000:00:03.2", -1);
        ASSERT_TRUE(find(&c, MODEL_GROUP_CHANGED, NULL, 2)->viable_after);
        ASSERT_EQ(model_find_group(m, 2)->n_devices, 2);

        /* A member listed whose device cannot be read: the group is not viable, and stays so
         * (no change) until the list changes again. */
        fakesys_symlink(&f, "kernel/iommu_groups/2/devices/0000:00:03.5",
                        "../../../../devices/pci0000:00/0000:00:03.5");
        revalidate(m, "0000:00:03.1", &c);
        ASSERT_EQ(c.n, 1);
        ASSERT_FALSE(find(&c, MODEL_GROUP_CHANGED, NULL, 2)->viable_after);
        ASSERT_STREQ(model_find_group(m, 2)->viability.reasons[0],
                     "0000:00:03.5 is in the group but its device could not be read");
        revalidate(m, "0000:00:03.1", &c);
        ASSERT_EQ(c.n, 0);
        ASSERT_OK(unlinkat(f.sys_fd, "kernel/iommu_groups/2/devices/0000:00:03.5", 0));
        revalidate(m, "0000:00:03.1", &c);
        ASSERT_TRUE(find(&c, MODEL_GROUP_CHANGED, NULL, 2)->viable_after);

        /* A PF's VF count, which Acquire checks. */
        revalidate(m, "0000:00:05.0", &c);
        ASSERT_EQ(c.n, 0);
        ASSERT_EQ(model_find_device(m, "0000:00:05.0")->sriov_numvfs, 4);
        ASSERT_EQ(fakesys_run(&f, "set-numvfs", "0000:00:05.0", "0"), 0);
        revalidate(m, "0000:00:05.0", &c);
        find(&c, MODEL_DEVICE_CHANGED, "0000:00:05.0", -1);
        ASSERT_EQ(model_find_device(m, "0000:00:05.0")->sriov_numvfs, 0);

        /* The device asked about is gone, and its group with it. */
        ASSERT_EQ(fakesys_run(&f, "remove-device", "0000:00:02.0"), 0);
        revalidate(m, "0000:00:02.0", &c);
        ASSERT_EQ(c.n, 2);
        find(&c, MODEL_DEVICE_REMOVED, "0000:00:02.0", -1);
        find(&c, MODEL_GROUP_REMOVED, NULL, 5);
        ASSERT_ERROR(model_revalidate_group(m, "0000:00:02.0/..", &c), EINVAL);
}

/* A device given an owner has its details read: lease decisions (SR-IOV) rely on them. */
TEST(owner_details)
{
        _cleanup_(fakesys_free) fakesys f;
        _cleanup_(model_freep) model *m = NULL;
        int owner;

        fakesys_new(&f, python, script, "--layout", "seed");
        ASSERT_OK(model_new(f.sys_fd, NULL, &m));
        ASSERT_OK(model_scan(m, NULL));
        ASSERT_STREQ(model_find_device(m, "0000:00:15.2")->physfn, "");
        ASSERT_OK(model_set_device_owner(m, "0000:00:15.2", &owner));
        ASSERT_TRUE(model_find_device(m, "0000:00:15.2")->details);
        ASSERT_STREQ(model_find_device(m, "0000:00:15.2")->physfn, "0000:00:05.0");
        /* A rescan reads an owned device in full, so its details stay known; others' not. */
        ASSERT_OK(model_scan(m, NULL));
        ASSERT_STREQ(model_find_device(m, "0000:00:15.2")->physfn, "0000:00:05.0");
        ASSERT_FALSE(model_find_device(m, "0000:00:15.4")->details);
}

TEST(scale)
{
        _cleanup_(fakesys_free) fakesys f;
        _cleanup_(model_freep) model *m = NULL;
        _cleanup_(model_changes_done) model_changes c = {};
        const model_device *const *devs;
        size_t n, viable = 0;

        fakesys_new(&f, python, script, "--layout", "scale", "--devices", "1024", "--groups",
                    "256");
        ASSERT_OK(model_new(f.sys_fd, NULL, &m));
        ASSERT_OK(model_scan(m, &c));
        ASSERT_EQ(model_n_devices(m), 1024);
        ASSERT_EQ(model_n_groups(m), 256);
        ASSERT_EQ(c.n, 1024 + 256);
        devs = model_devices(m, &n);
        for (size_t i = 0; i < n; i++) {
                ASSERT_TRUE(model_find_device(m, devs[i]->address) == devs[i]);
                ASSERT_TRUE(model_find_group(m, devs[i]->group));
        }
        for (int i = 0; i < 256; i++)
                viable += model_find_group(m, i)->viability.viable;
        /* The layout's mix: vfio-pci, host, none, vfio+virtio, stub+vfio. */
        ASSERT_EQ(viable, 52 + 51 + 51);

        /* Churn through the hash table: remove every other device, then bring them back. */
        for (size_t i = 0; i < 1024; i += 2) {
                char a[PCI_ADDRESS_SIZE];

                snprintf(a, sizeof(a), "0000:%02zx:%02zx.%zx", i / 256, (i % 256) / 8, i % 8);
                ASSERT_OK(model_remove_device(m, a, NULL));
                ASSERT_TRUE(!model_find_device(m, a));
        }
        ASSERT_EQ(model_n_devices(m), 512);
        ASSERT_TRUE(model_find_device(m, "0000:00:00.1"));
        scan(m, &c);
        ASSERT_EQ(count(&c, MODEL_DEVICE_ADDED), 512);
        ASSERT_EQ(model_n_devices(m), 1024);
}

/* Versions key the daemon's cached descriptions: any change to what a device or group shows
 * (a group shows its members) must move them, and nothing else may. */
TEST(versions)
{
        _cleanup_(fakesys_free) fakesys f;
        _cleanup_(model_freep) model *m = NULL;
        _cleanup_(model_changes_done) model_changes c = {};
        uint64_t d30, d31, g2, g3;
        int owner;

        fakesys_new(&f, python, script, "--layout", "seed");
        ASSERT_OK(model_new(f.sys_fd, NULL, &m));
        ASSERT_OK(model_scan(m, NULL));
        d30 = model_find_device(m, "0000:00:03.0")->version;
        d31 = model_find_device(m, "0000:00:03.1")->version;
        g2 = model_find_group(m, 2)->version;
        g3 = model_find_group(m, 3)->version;
        ASSERT_TRUE(d30 > 0 && d31 > 0 && g2 > 0 && d30 != d31);

        /* Nothing changed: nothing moves. */
        scan(m, &c);
        update(m, "0000:00:03.0", &c);
        ASSERT_EQ(model_find_device(m, "0000:00:03.0")->version, d30);
        ASSERT_EQ(model_find_group(m, 2)->version, g2);

        /* A driver change moves the device and its group, not its neighbour or other groups. */
        ASSERT_EQ(fakesys_run(&f, "unbind", "0000:00:03.0"), 0);
        update(m, "0000:00:03.0", &c);
        ASSERT_TRUE(model_find_device(m, "0000:00:03.0")->version > d30);
        ASSERT_TRUE(model_find_group(m, 2)->version > g2);
        ASSERT_EQ(model_find_device(m, "0000:00:03.1")->version, d31);
        ASSERT_EQ(model_find_group(m, 3)->version, g3);
        d30 = model_find_device(m, "0000:00:03.0")->version;
        g2 = model_find_group(m, 2)->version;

        /* So does an owner, set and taken away, on a device or a group. */
        ASSERT_OK(model_set_device_owner(m, "0000:00:03.1", &owner));
        ASSERT_TRUE(model_find_device(m, "0000:00:03.1")->version > d31);
        ASSERT_TRUE(model_find_group(m, 2)->version > g2);
        d31 = model_find_device(m, "0000:00:03.1")->version;
        ASSERT_OK(model_set_device_owner(m, "0000:00:03.1", &owner));
        ASSERT_EQ(model_find_device(m, "0000:00:03.1")->version, d31);
        ASSERT_OK(model_set_device_owner(m, "0000:00:03.1", NULL));
        ASSERT_TRUE(model_find_device(m, "0000:00:03.1")->version > d31);
        g2 = model_find_group(m, 2)->version;
        ASSERT_OK(model_set_group_owner(m, 2, &owner));
        ASSERT_TRUE(model_find_group(m, 2)->version > g2);
        g2 = model_find_group(m, 2)->version;

        /* A member leaving moves the group; a cache hung on an object goes with it. */
        model_set_device_cache(m, model_find_device(m, "0000:00:03.1"), strdup("cached"));
        model_set_group_cache(m, model_find_group(m, 2), strdup("cached"));
        ASSERT_EQ(fakesys_run(&f, "remove-device", "0000:00:03.1"), 0);
        ASSERT_OK(model_remove_device(m, "0000:00:03.1", &c));
        ASSERT_TRUE(!model_find_device(m, "0000:00:03.1"));
        ASSERT_TRUE(model_find_group(m, 2)->version > g2);
        ASSERT_STREQ(model_find_group(m, 2)->cache, "cached");
}

int main(int argc, char **argv)
{
        ASSERT_TRUE(argc == 3);
        python = argv[1];
        script = argv[2];
        log_parse_env();

        RUN(seed_scan);
        RUN(scenario_updates);
        RUN(identity_and_config);
        RUN(hostile);
        RUN(revalidate);
        RUN(owner_details);
        RUN(scale);
        RUN(versions);

        /* Again without openat2(), as on kernels and sandboxes that lack it. */
        sysfs_set_openat2(false);
        RUN(seed_scan);
        RUN(hostile);
        return 0;
}
