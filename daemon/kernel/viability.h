/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Group viability, the kernel's rule (vfio_group_viable() before 5.19; since then the DMA
 * ownership claim, which fails with -EBUSY on the same condition): a group can be handed to
 * user space only if each of its devices is
 *   - driver-less,
 *   - bound to a vfio driver (vfio-pci and its variant drivers),
 *   - bound to an allowed stub (pci-stub), or
 *   - a bridge or interconnect bound to a port driver that leaves DMA alone (pcieport, which
 *     declares driver_managed_dma; shpchp does not, and blocks the claim).
 * Any other driver is a host driver doing DMA through the kernel's domain: not viable.
 *
 * The default domain type does not change viability: claiming a group attaches a blocking
 * domain whatever the default was. But under an "identity" default domain a driver-less device
 * is not isolated before the claim, so such a group gets a note (not a reason).
 *
 * Pure: no I/O, the verdict is a function of the inputs. */

#include <stdbool.h>
#include <stddef.h>

typedef struct viability_config {
        /* Each NULL-terminated. vfio_drivers are exact names; a driver whose name ends in one of
         * vfio_driver_suffixes is a vfio variant driver too (the kernel's variant drivers are
         * named <vendor>_vfio_pci after their module: mlx5_vfio_pci, hisi_acc_vfio_pci,
         * pds_vfio_pci, virtio_vfio_pci, nvgrace_gpu_vfio_pci, ...). The first vfio driver is
         * the one reasons suggest. */
        const char *const *vfio_drivers;
        const char *const *vfio_driver_suffixes;
        const char *const *stub_drivers;
        const char *const *bridge_drivers;
} viability_config;

/* vfio-pci; suffixes _vfio_pci, -vfio-pci; pci-stub; pcieport. */
extern const viability_config viability_config_default;

typedef enum viability_driver_kind {
        VIABILITY_DRIVER_NONE,
        VIABILITY_DRIVER_VFIO,
        VIABILITY_DRIVER_STUB,
        VIABILITY_DRIVER_BRIDGE,
        VIABILITY_DRIVER_HOST, /* anything else: breaks isolation */
} viability_driver_kind;

viability_driver_kind viability_classify(const viability_config *cfg, const char *driver);

typedef struct viability_member {
        const char *address;
        const char *driver;  /* NULL: no driver */
        bool driver_unknown; /* bound to a driver that could not be identified */
        bool missing;        /* listed in the group, but the device could not be read */
        bool bridge;         /* a PCI bridge (class 0x0604): no vfio driver can take it */
} viability_member;

typedef struct viability {
        bool viable;
        char **reasons; /* why not viable, one per offending device; none when viable */
        size_t n_reasons;
        char **notes; /* warnings that leave viability as it is (identity domain) */
        size_t n_notes;
} viability;

void viability_done(viability *v);

typedef struct viability_group {
        int number;
        const char *type; /* default domain type; NULL when unknown */
        const viability_member *members;
        size_t n_members;
        size_t n_foreign; /* members that are not PCI devices: their isolation cannot be checked */
        bool unreadable;  /* the member list could not be read in full */
} viability_group;

/* Computes the verdict for a group. Foreign members, an unreadable member list and an empty
 * group each make it non-viable. 0 or -ENOMEM. */
int viability_check(const viability_config *cfg, const viability_group *g, viability *ret);

bool viability_equal(const viability *a, const viability *b);
