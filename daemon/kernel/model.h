/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's live model of PCI devices and IOMMU groups, read from sysfs (sysfs.h) and kept
 * current from device events: model_update_device() for one device after add, bind, unbind or
 * change; model_remove_device() after remove; model_scan() to read everything again (at start,
 * and when the event stream overflowed). Each reports what changed as a change list.
 *
 * Devices are keyed by PCI address (group numbers change across reboots), groups by number;
 * both lookups are hash lookups, and listings come sorted (by address, by number).
 *
 * Objects stay put while they exist: a scan updates them in place, so pointers to them and the
 * owner pointers the lease module attaches survive scans. Pointers returned by lookups are
 * valid until the object is removed (a DEVICE_REMOVED or GROUP_REMOVED change names it). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "pci-address.h"
#include "viability.h"

typedef struct model model;

typedef struct model_device {
        char address[PCI_ADDRESS_SIZE];
        int group;           /* -1: none */
        char *vendor;        /* "0x8086"; NULL when unreadable */
        char *device;        /* "0x10d3" */
        char *class;         /* "0x020000" */
        char *driver;        /* NULL: none */
        bool driver_unknown; /* a driver is bound but could not be identified (counts as host) */
        char *cdev;          /* "vfio0" (/dev/vfio/devices/vfio0); NULL without a vfio cdev */
        /* The details: what only leases need. A full scan leaves them unread (details false,
         * the fields as for a device without them); reading a device alone
         * (model_update_device()), revalidating its group and giving it an owner read them. */
        bool details;
        dev_t cdev_devnum;             /* what st_rdev of the opened cdev must be; 0 if unknown */
        char physfn[PCI_ADDRESS_SIZE]; /* a VF's PF; "" otherwise */
        int sriov_totalvfs;            /* -1 unless an SR-IOV PF */
        int sriov_numvfs;
        void *owner; /* the lease module's; never touched by the model */
        /* Changes whenever anything above does, owner included, and only ever grows (all
         * objects draw from one counter): what a cache of anything derived from the device
         * keys on. */
        uint64_t version;
        void *cache; /* an upper layer's malloc()ed rendering; freed with the device */

        /* Private to the model. */
        uint64_t key;
        size_t index;
        unsigned generation;
        char ids[3][9]; /* where vendor, device and class point */
} model_device;

typedef struct model_group {
        int number;
        char *type;                        /* default domain type; NULL when unreadable */
        char (*devices)[PCI_ADDRESS_SIZE]; /* member addresses, sorted */
        size_t n_devices;
        size_t n_foreign; /* members that are not PCI devices */
        bool unreadable;  /* its member list could not be read: not viable */
        viability viability;
        void *owner;      /* the lease module's; never touched by the model */
        uint64_t version; /* as a device's, and it also changes when a member's does */
        void *cache;      /* as a device's */

        /* Private to the model. */
        size_t index;
        unsigned generation;
        bool fresh, dirty;
} model_group;

typedef enum model_change_kind {
        MODEL_DEVICE_ADDED,   /* new_driver set */
        MODEL_DEVICE_REMOVED, /* old_driver and owner: what it had */
        MODEL_DEVICE_CHANGED, /* group, cdev, ids, or details that were known before */
        MODEL_DRIVER_CHANGED, /* old_driver -> new_driver */
        MODEL_GROUP_ADDED,    /* viable_after */
        MODEL_GROUP_REMOVED,  /* viable_before, owner */
        MODEL_GROUP_CHANGED,  /* members, type or verdict changed; viable_before -> viable_after */
} model_change_kind;

typedef struct model_change {
        model_change_kind kind;
        char address[PCI_ADDRESS_SIZE]; /* device changes; "" for group changes */
        int group;                      /* the device's group, or the group changed */
        char *old_driver, *new_driver;
        bool viable_before, viable_after;
        void *owner; /* the device's or group's owner at the time */
} model_change;

typedef struct model_changes {
        model_change *items;
        size_t n, n_alloc;
} model_changes;

void model_changes_clear(model_changes *c); /* empties it for reuse */
void model_changes_done(model_changes *c);
const char *model_change_kind_to_string(model_change_kind k);

/* The model reads below sysfs_root_fd (duplicated, the caller keeps its own). cfg is borrowed
 * and must outlive the model; NULL means viability_config_default. Nothing is read yet. */
int model_new(int sysfs_root_fd, const viability_config *cfg, model **ret);
model *model_free(model *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(model *, model_free)

/* changes may be NULL everywhere. On -ENOMEM the model stays consistent but may be partly
 * updated and the change list incomplete: rescan later. Entries sysfs refuses are logged and
 * left out; they are not errors. */
int model_scan(model *m, model_changes *changes);
/* Re-reads one device in full and its group (and its former group); removes it if it is gone.
 * -EINVAL for an invalid address. */
int model_update_device(model *m, const char *address, model_changes *changes);
/* Before a decision about a lease, where events may lag: checks the device at address and its
 * group against sysfs, reading only what can change under a lease request. For each member (and
 * the device, whatever its group) the driver and iommu_group links, the cdev while a driver is
 * bound and, for an SR-IOV PF, sriov_numvfs; for the group its member list and type. A
 * device that differs, whose details are unread, that is new or gone, or that the model cannot
 * vouch for is read with model_update_device(), which reports the changes. Nothing changed: no
 * change, nothing else read. -EINVAL for an invalid address. */
int model_revalidate_group(model *m, const char *address, model_changes *changes);
/* Forgets a device that is gone, and re-reads its group. 0 if it was not known. */
int model_remove_device(model *m, const char *address, model_changes *changes);
/* Swaps the viability rules (policy reload) and recomputes every group's verdict. */
int model_set_config(model *m, const viability_config *cfg, model_changes *changes);

const model_device *model_find_device(const model *m, const char *address);
const model_group *model_find_group(const model *m, int group);
/* The devices sorted by address, the groups by number: arrays valid until the model changes. */
const model_device *const *model_devices(model *m, size_t *ret_n);
const model_group *const *model_groups(model *m, size_t *ret_n);
size_t model_n_devices(const model *m);
size_t model_n_groups(const model *m);
/* A PCI-to-PCI bridge by its class (0x0604xx): no vfio driver takes one, and it does no DMA of
 * its own. */
static inline bool model_device_is_pci_bridge(const model_device *d)
{
        return d->class && __builtin_strncmp(d->class, "0x0604", 6) == 0;
}

/* A group member's device, or NULL when the member could not be read. */
static inline const model_device *model_group_device(const model *m, const model_group *g, size_t i)
{
        return model_find_device(m, g->devices[i]);
}

/* Hangs an upper layer's malloc()ed rendering on an object (taken, and freed with the object
 * or the next one set), freeing the one it had. */
void model_set_device_cache(model *m, const model_device *d, void *cache);
void model_set_group_cache(model *m, const model_group *g, void *cache);

/* Attach the lease module's owner. -ENOENT if the object does not exist. A device given an owner
 * has its details read if they are not (lease decisions rely on them), quietly: a change it
 * reveals is left to the device's events. */
int model_set_device_owner(model *m, const char *address, void *owner);
int model_set_group_owner(model *m, int group, void *owner);
