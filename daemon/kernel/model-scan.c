/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The full scan, at start and after an overflow of events. It reads sysfs the cheap way round:
 * every group's member list and type, the vfio devices of class/vfio-dev, and then of each device
 * its bus/pci/devices link and its uevent attribute. A device's group is the one whose list
 * names it: the kernel adds a device's iommu_group link before it lists the device in the group
 * and takes it away after, so the lists name a device only while its link says the same. A
 * device no list names (or two do), one held by a lease, and one whose uevent attribute cannot
 * be used are read in full (sysfs_read_device()), their own links included; so are all when
 * class/vfio-dev cannot be read. What only leases need (SR-IOV, cdev numbers, driver_override)
 * is left unread, to be read when a lease needs it (model_revalidate_group(), owners). */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model-internal.h"

typedef struct group_list {
        sysfs_group *items;
        size_t n;
} group_list;

static void group_list_done(group_list *l)
{
        sysfs_groups_free(l->items, l->n);
}

/* A device some group's list names: its pci_address_pack() above the index of the group in the
 * list of groups, so that sorting the integers sorts by address. */
#define MEMBER_GROUP_BITS 28u

typedef struct scan {
        model *m;
        group_list groups;
        uint64_t *members; /* sorted */
        size_t n_members, next_member;
        sysfs_cdev *cdevs; /* sorted by address */
        size_t n_cdevs, next_cdev;
        bool cdevs_unknown; /* class/vfio-dev could not be read */
        bool first;         /* the model was empty: nothing is owned */
} scan;

static void scan_done(scan *s)
{
        group_list_done(&s->groups);
        free(s->members);
        sysfs_cdevs_free(s->cdevs, s->n_cdevs);
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

static int index_members(scan *s)
{
        size_t n = 0;

        if (s->groups.n >= (size_t)1 << MEMBER_GROUP_BITS)
                return -E2BIG;
        for (size_t i = 0; i < s->groups.n; i++)
                n += s->groups.items[i].n_devices;
        s->members = calloc(n + 1, sizeof(*s->members));
        if (!s->members)
                return -ENOMEM;
        for (size_t i = 0; i < s->groups.n; i++)
                for (size_t j = 0; j < s->groups.items[i].n_devices; j++)
                        s->members[s->n_members++] = pci_address_pack(s->groups.items[i].devices[j])
                                                             << MEMBER_GROUP_BITS |
                                                     i;
        qsort(s->members, s->n_members, sizeof(*s->members), cmp_u64);
        return 0;
}

/* The group whose list names address, -1 for none, -2 when two do. Addresses come in
 * ascending order. */
static int find_member(scan *s, const char *address)
{
        uint64_t key = pci_address_pack(address);
        size_t i;

        while (s->next_member < s->n_members &&
               s->members[s->next_member] >> MEMBER_GROUP_BITS < key)
                s->next_member++;
        i = s->next_member;
        if (i >= s->n_members || s->members[i] >> MEMBER_GROUP_BITS != key)
                return -1;
        if (i + 1 < s->n_members && s->members[i + 1] >> MEMBER_GROUP_BITS == key)
                return -2;
        return s->groups.items[s->members[i] & (((uint64_t)1 << MEMBER_GROUP_BITS) - 1)].number;
}

/* The vfio device class/vfio-dev has for the device at path: the first whose link leads there. */
static void find_cdev(scan *s, sysfs_device *d, const char *path)
{
        while (s->next_cdev < s->n_cdevs && strcmp(s->cdevs[s->next_cdev].address, d->address) < 0)
                s->next_cdev++;
        for (size_t i = s->next_cdev; i < s->n_cdevs && streq(s->cdevs[i].address, d->address);
             i++) {
                if (streq(s->cdevs[i].dir, path)) {
                        strcpy(d->cdev, s->cdevs[i].name);
                        return;
                }
                log_warning("Ignoring %s in class/vfio-dev: its link leads elsewhere than %s.",
                            s->cdevs[i].name, d->address);
        }
}

static bool owned(const scan *s, const char *address)
{
        const model_device *d = s->first ? NULL : model_device_get_checked(s->m, address);
        const model_group *g = d ? model_group_get(s->m, d->group) : NULL;

        return d && (d->owner || (g && g->owner));
}

/* Reads one device the cheap way when it can, in full when it must. < 0: not read. */
static int read_device(scan *s, int devices_fd, const char *address, sysfs_device *ret)
{
        int group = find_member(s, address);
        char path[PATH_MAX];
        int r;

        if (group >= 0 && !s->cdevs_unknown && !owned(s, address)) {
                r = sysfs_read_device_brief(s->m->root_fd, devices_fd, address, ret, path);
                if (r != -ENODATA) {
                        if (r < 0)
                                return r;
                        ret->group = group;
                        find_cdev(s, ret, path);
                        return 0;
                }
        }
        return sysfs_read_device(s->m->root_fd, devices_fd, address, ret);
}

static int scan_devices(scan *s, model_changes *changes)
{
        _cleanup_free_ char(*addresses)[PCI_ADDRESS_SIZE] = NULL;
        _cleanup_close_ int devices_fd = -EBADF;
        model *m = s->m;
        model_device **all;
        size_t n = 0;
        int r;

        r = sysfs_list_devices(m->root_fd, &addresses, &n);
        if (r == -ENOENT)
                log_notice("sysfs has no PCI devices directory; the model is empty.");
        else if (r < 0)
                return log_error_errno(r, "Cannot list PCI devices: %m");
        else {
                r = sysfs_open(m->root_fd, "bus/pci/devices", O_PATH | O_DIRECTORY, &devices_fd);
                if (r < 0)
                        return log_error_errno(r, "Cannot open the PCI devices directory: %m");
        }
        r = model_index_reserve(&m->devices, n);
        if (r < 0)
                return r;
        /* In address order, so that change lists read like a listing: sorted as integers,
         * which is cheaper by far than as strings. */
        if (n > 1) {
                _cleanup_free_ uint64_t *keys = calloc(n, sizeof(*keys));

                if (!keys)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        keys[i] = pci_address_pack(addresses[i]);
                qsort(keys, n, sizeof(*keys), cmp_u64);
                for (size_t i = 0; i < n; i++)
                        pci_address_unpack(keys[i], addresses[i]);
        }
        for (size_t i = 0; i < n; i++) {
                sysfs_device d;

                if (read_device(s, devices_fd, addresses[i], &d) < 0)
                        continue; /* gone, or refused and logged */
                r = model_device_apply(m, &d, changes);
                if (r < 0)
                        return r;
        }
        all = (model_device **)model_index_sorted(&m->devices);
        for (size_t i = m->devices.n; i > 0; i--)
                if (all[i - 1]->generation != m->generation) {
                        r = model_device_drop(m, all[i - 1], changes);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int cmp_sysfs_group(const void *a, const void *b)
{
        int x = ((const sysfs_group *)a)->number, y = ((const sysfs_group *)b)->number;

        return x < y ? -1 : x > y;
}

/* Adds each device to the group its iommu_group link names, where the listing missed it (a
 * race, or a refused listing: then the group cannot be vouched for). */
static int add_claimants(model *m, group_list *l, bool refused)
{
        for (size_t i = 0; i < m->devices.n; i++) {
                const model_device *d = m->devices.all[i];
                sysfs_group key = { .number = d->group, .unreadable = refused }, *s;
                size_t at = 0;
                int r;

                if (d->group < 0)
                        continue;
                s = l->n > 0 ? bsearch(&key, l->items, l->n, sizeof(*l->items), cmp_sysfs_group)
                             : NULL;
                if (!s) {
                        sysfs_group *p = reallocarray(l->items, l->n + 1, sizeof(*p));

                        if (!p)
                                return -ENOMEM;
                        l->items = p;
                        while (at < l->n && l->items[at].number < key.number)
                                at++;
                        memmove(l->items + at + 1, l->items + at, (l->n++ - at) * sizeof(*p));
                        s = &l->items[at];
                        *s = key;
                }
                r = sysfs_group_add_member(s, d->address);
                if (r < 0)
                        return r;
        }
        return 0;
}

int model_scan(model *m, model_changes *changes)
{
        _cleanup_(scan_done) scan s = { .m = m, .first = m->devices.n == 0 };
        model_group **all;
        bool refused;
        int r;

        m->generation++;
        r = sysfs_read_groups(m->root_fd, &s.groups.items, &s.groups.n);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT)
                log_notice(
                        "sysfs has no IOMMU groups: the IOMMU is off; nothing can be handed out.");
        else if (r < 0)
                log_error_errno(r, "Cannot read the IOMMU groups, no group is viable: %m");
        refused = r < 0 && r != -ENOENT;
        r = index_members(&s);
        if (r < 0)
                return r;
        r = sysfs_list_cdevs(m->root_fd, &s.cdevs, &s.n_cdevs);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Cannot read %s, reading each device's own: %m",
                                  "class/vfio-dev");
        s.cdevs_unknown = r < 0 && r != -ENOENT;

        r = scan_devices(&s, changes);
        if (r < 0)
                return r;
        r = add_claimants(m, &s.groups, refused);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s.groups.n; i++) {
                model_group *g;

                r = model_group_store(m, &s.groups.items[i], &g);
                if (r < 0)
                        return r;
        }
        all = (model_group **)model_index_sorted(&m->groups);
        for (size_t i = m->groups.n; i > 0; i--)
                if (all[i - 1]->generation != m->generation) {
                        r = model_group_drop(m, all[i - 1], changes);
                        if (r < 0)
                                return r;
                }
        all = (model_group **)model_index_sorted(&m->groups);
        for (size_t i = 0; i < m->groups.n; i++) {
                r = model_group_judge(m, all[i], changes);
                if (r < 0)
                        return r;
        }
        return 0;
}
