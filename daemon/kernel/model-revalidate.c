/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Revalidating a group before a lease decision: the cheap reads first, a full update of a device
 * only where they disagree with the model. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model-internal.h"

/* 1 when the device must be read in full, 0 when its links say what the model has. listed_in:
 * the group whose member list, just read, has the device; -1 if none was read. A member other
 * than the requested device (listed_in >= 0) matters for its driver only: a lease opens the
 * cdevs of requested devices alone, each read when its own group is revalidated for it. */
static int device_stale(model *m, int devices_fd, const char *address, int listed_in)
{
        const model_device *d = model_device_get(m, address);
        sysfs_links_hint hint;
        sysfs_device s;
        int r;

        /* Unread details (after a scan) are read now: a lease decision needs them. */
        if (!d || !d->details || d->driver_unknown)
                return 1;
        hint = (sysfs_links_hint){ .pf = d->sriov_totalvfs >= 0,
                                   .cdev = d->cdev,
                                   .group = listed_in,
                                   .no_cdev = listed_in >= 0 };
        r = sysfs_read_device_links(m->root_fd, devices_fd, address, &hint, &s);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 1; /* gone or refused: the full read tells which */
        /* The cdev too: an event read mid-probe may have seen the driver before its cdev, or
         * the cdev before its number. */
        return s.driver_unknown || !streq_ptr(d->driver, s.driver[0] ? s.driver : NULL) ||
               (!hint.no_cdev && (!streq_ptr(d->cdev, s.cdev[0] ? s.cdev : NULL) ||
                                  s.cdev_devnum != d->cdev_devnum)) ||
               s.group != d->group || (hint.pf && s.sriov_numvfs != d->sriov_numvfs);
}

static int check_device(model *m, int devices_fd, const char *address, int listed_in,
                        model_changes *changes)
{
        int r = device_stale(m, devices_fd, address, listed_in);

        return r > 0 ? model_update_device(m, address, changes) : r;
}

static bool listed(char (*list)[PCI_ADDRESS_SIZE], size_t n, const char *address)
{
        for (size_t i = 0; i < n; i++)
                if (streq(list[i], address))
                        return true;
        return false;
}

/* The group's member list and type against the model's. A new type alone is taken as it is.
 * Members new to the list, then members gone from it, are read in full: new ones first, so that
 * no verdict reports them as members that could not be read. */
static int check_group(model *m, int number, bool *ret_same, model_changes *changes)
{
        _cleanup_(sysfs_group_done) sysfs_group s = { .number = number };
        const model_group *g = model_group_get(m, number);
        _cleanup_free_ char(*had)[PCI_ADDRESS_SIZE] = NULL;
        size_t n_had = 0;
        bool updated = false;
        int r;

        r = sysfs_read_group(m->root_fd, number, &s);
        if (r == -ENOMEM)
                return r;
        *ret_same = r >= 0 && g && model_members_equal(g, &s);
        if (*ret_same)
                return streq_ptr(g->type, s.type[0] ? s.type : NULL)
                               ? 0
                               : model_group_sync(m, number, NULL, NULL, changes);

        /* A copy: each update may change the model's list. */
        if (g && g->n_devices > 0) {
                had = calloc(g->n_devices, sizeof(*had));
                if (!had)
                        return -ENOMEM;
                memcpy(had, g->devices, g->n_devices * sizeof(*had));
                n_had = g->n_devices;
        }
        for (size_t i = 0; i < s.n_devices; i++)
                if (!listed(had, n_had, s.devices[i])) {
                        r = model_update_device(m, s.devices[i], changes);
                        if (r < 0)
                                return r;
                        updated = true;
                }
        for (size_t i = 0; i < n_had; i++)
                if (!listed(s.devices, s.n_devices, had[i])) {
                        r = model_update_device(m, had[i], changes);
                        if (r < 0)
                                return r;
                        updated = true;
                }
        /* The same members with other flags, none at all, or members the updates left as they
         * were (a listed one that cannot be read, an unlisted one that is no device): the group
         * itself, as sysfs lists it. */
        g = model_group_get(m, number);
        for (size_t i = 0; updated && i < s.n_devices; i++)
                updated = g && listed(g->devices, g->n_devices, s.devices[i]);
        for (size_t i = 0; updated && g && i < g->n_devices; i++) {
                const model_device *d = model_device_get_checked(m, g->devices[i]);

                /* One its iommu_group link claims is counted in (model_group_sync()). */
                updated =
                        listed(s.devices, s.n_devices, g->devices[i]) || (d && d->group == number);
        }
        return updated ? 0 : model_group_sync(m, number, NULL, NULL, changes);
}

int model_revalidate_group(model *m, const char *address, model_changes *changes)
{
        _cleanup_close_ int devices_fd = -EBADF;
        const model_device *d;
        const model_group *g;
        bool same = false;
        int number, r;

        if (!pci_address_valid_str(address))
                return -EINVAL;
        /* Opened once for all members; without it each read opens its own. */
        (void)sysfs_open(m->root_fd, "bus/pci/devices", O_PATH | O_DIRECTORY, &devices_fd);

        r = check_device(m, devices_fd, address, -1, changes);
        if (r < 0)
                return r;
        d = model_device_get(m, address);
        if (!d || d->group < 0)
                return 0;
        number = d->group;
        r = check_group(m, number, &same, changes);
        if (r < 0)
                return r;
        /* Members by index: an update may change the group's member array. */
        g = model_group_get(m, number);
        for (size_t i = 0; g && i < g->n_devices; i++) {
                char member[PCI_ADDRESS_SIZE];

                memcpy(member, g->devices[i], sizeof(member));
                if (!streq(member, address)) {
                        r = check_device(m, devices_fd, member, same ? number : -1, changes);
                        if (r < 0)
                                return r;
                }
                g = model_group_get(m, number);
        }
        return 0;
}
