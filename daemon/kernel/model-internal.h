/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Between the model's core (model.c), its full scan (model-scan.c) and its revalidation
 * (model-revalidate.c). */

#include "model-index.h"
#include "model.h"
#include "sysfs.h"

struct model {
        int root_fd;
        const viability_config *cfg;
        unsigned generation;
        uint64_t version; /* the last one handed to an object */

        model_index devices, groups;
};

model_device *model_device_get(const model *m, const char *address);
/* The same for an address sysfs reading has checked already (listings, device reads). */
static inline model_device *model_device_get_checked(const model *m, const char *address)
{
        return model_index_get(&m->devices, pci_address_pack(address));
}
model_group *model_group_get(const model *m, int number);

/* Appends a change (the drivers copied) unless cs is NULL. */
int model_emit(model_changes *cs, const model_change *proto, const char *old_driver,
               const char *new_driver);

/* Brings the device named by s up to date (creating it), reporting what changed. A read without
 * details (s->details false) leaves the device's details unknown. */
int model_device_apply(model *m, const sysfs_device *s, model_changes *changes);
int model_device_drop(model *m, model_device *d, model_changes *changes);

bool model_members_equal(const model_group *g, const sysfs_group *s);
/* Takes the membership and type in s (consumed) as the group's, finding or creating it. */
int model_group_store(model *m, sysfs_group *s, model_group **ret);
int model_group_drop(model *m, model_group *g, model_changes *changes);
/* Recomputes the verdict and reports the group if it is new or anything about it changed. */
int model_group_judge(model *m, model_group *g, model_changes *changes);
/* Re-reads one group from sysfs: gone is left out, claimant counted in (model.c says why). */
int model_group_sync(model *m, int number, const char *gone, const model_device *claimant,
                     model_changes *changes);
