/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Managed binding: the daemon moves devices to vfio-pci itself, and back at lease end, through
 * sysfs below the sysfs root: for each device, its current driver is recorded (the driver
 * link), vfio-pci written to its driver_override, the device unbound from its driver (if any)
 * and written to bus/pci/drivers_probe; then the driver link must say vfio-pci, since
 * drivers_probe reports success even when no driver took the device.
 *
 * All or nothing, for a whole group: when any step fails for any device, every step done so far
 * is undone in reverse order (driver_override cleared with "\n", the device unbound from what
 * it got and probed back to its original driver) and the error returned with a message naming
 * the device and the step. A group is never left half host-driven by us.
 *
 * Restoring (lease end) undoes a bind: it must run after every fd of the devices is closed
 * (the daemon's and, as far as it can tell, the holder's): unbinding vfio-pci blocks in the
 * kernel while a device is open. */

#include <stdbool.h>
#include <stddef.h>

#include "pci-address.h"
#include "sysfs.h"
#include "viability.h"

#define MANAGED_DRIVER "vfio-pci"

/* Where writes go: path is relative to root_fd. The kernel acts on a sysfs write before it
 * returns; on a generated tree nothing does, so tests pass a writer that plays its part. */
typedef int (*managed_write_fn)(int root_fd, const char *path, const char *value, void *userdata);

typedef struct managed_sysfs {
        int root_fd;                 /* --sysfs-root */
        const viability_config *cfg; /* what counts as a vfio driver; NULL: the default */
        managed_write_fn write;      /* NULL: sysfs_write_attr(), the kernel */
        void *userdata;
} managed_sysfs;

/* One sysfs write through s: the hook if there is one, else the kernel. path is relative to
 * s->root_fd and must not come from outside the daemon unchecked. */
int managed_write(const managed_sysfs *s, const char *path, const char *value);

typedef struct managed_device {
        char address[PCI_ADDRESS_SIZE];
        char original_driver[SYSFS_NAME_MAX + 1]; /* "" none: restored driver-less */
        bool changed; /* false: it was on a vfio driver already and was left alone */
} managed_device;

/* Binds the n devices (the members of a group that need it; not bridges) to vfio-pci, filling
 * ret[0..n-1] with what to restore. Devices already on a vfio driver are left as they are. A
 * driver_override naming another driver is someone else's: -EBUSY, nothing changed. Invalid or
 * repeated addresses: -EINVAL before anything is written. On failure *ret_error (optional,
 * freed by the caller) says which device and step failed, and everything is undone. */
int managed_bind(const managed_sysfs *s, const char *const *addresses, size_t n,
                 managed_device *ret, char **ret_error);

/* Puts the devices back as they were, in reverse order, each to its original driver (or none)
 * with driver_override cleared; unchanged and vanished devices are skipped. Goes on past
 * failures; returns the first, with *ret_error (optional) naming the device and step. */
int managed_restore(const managed_sysfs *s, const managed_device *devices, size_t n,
                    char **ret_error);
