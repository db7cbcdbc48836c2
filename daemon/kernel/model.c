/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fd-util.h"
#include "log.h"
#include "model-internal.h"
#include "sysfs.h"

/* ---- The model ---- */

static uint64_t device_key(const void *e)
{
        return ((const model_device *)e)->key;
}

static uint64_t group_key(const void *e)
{
        return (uint64_t)(unsigned)((const model_group *)e)->number;
}

int model_new(int sysfs_root_fd, const viability_config *cfg, model **ret)
{
        model *m;
        int fd = fcntl_dupfd_cloexec(sysfs_root_fd);

        if (fd < 0)
                return fd;
        m = calloc(1, sizeof(*m));
        if (!m) {
                safe_close(fd);
                return -ENOMEM;
        }
        m->root_fd = fd;
        m->cfg = cfg ?: &viability_config_default;
        m->devices = (model_index){ .key = device_key,
                                    .pos_offset = offsetof(model_device, index),
                                    .sorted = true };
        m->groups = (model_index){ .key = group_key,
                                   .pos_offset = offsetof(model_group, index),
                                   .sorted = true };
        *ret = m;
        return 0;
}

static void device_free(model_device *d)
{
        free(d->driver);
        free(d->cdev);
        free(d->cache);
        free(d);
}

static void group_free(model_group *g)
{
        free(g->type);
        free(g->devices);
        viability_done(&g->viability);
        free(g->cache);
        free(g);
}

model *model_free(model *m)
{
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->devices.n; i++)
                device_free(m->devices.all[i]);
        for (size_t i = 0; i < m->groups.n; i++)
                group_free(m->groups.all[i]);
        model_index_done(&m->devices);
        model_index_done(&m->groups);
        safe_close(m->root_fd);
        free(m);
        return NULL;
}

/* ---- Change lists ---- */

static void change_done(model_change *c)
{
        free(c->old_driver);
        free(c->new_driver);
}

void model_changes_clear(model_changes *c)
{
        for (size_t i = 0; i < c->n; i++)
                change_done(&c->items[i]);
        c->n = 0;
}

void model_changes_done(model_changes *c)
{
        model_changes_clear(c);
        free(c->items);
        *c = (model_changes){};
}

const char *model_change_kind_to_string(model_change_kind k)
{
        static const char *const names[] = {
                [MODEL_DEVICE_ADDED] = "device-added",
                [MODEL_DEVICE_REMOVED] = "device-removed",
                [MODEL_DEVICE_CHANGED] = "device-changed",
                [MODEL_DRIVER_CHANGED] = "driver-changed",
                [MODEL_GROUP_ADDED] = "group-added",
                [MODEL_GROUP_REMOVED] = "group-removed",
                [MODEL_GROUP_CHANGED] = "group-changed",
        };

        return (size_t)k < ELEMENTSOF(names) ? names[k] : NULL;
}

int model_emit(model_changes *cs, const model_change *proto, const char *old_driver,
               const char *new_driver)
{
        model_change c = *proto;

        if (!cs)
                return 0;
        if (cs->n == cs->n_alloc) {
                size_t n = MAX(cs->n_alloc * 2, (size_t)16);
                model_change *p = reallocarray(cs->items, n, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                cs->items = p;
                cs->n_alloc = n;
        }
        c.old_driver = old_driver ? strdup(old_driver) : NULL;
        c.new_driver = new_driver ? strdup(new_driver) : NULL;
        if ((old_driver && !c.old_driver) || (new_driver && !c.new_driver)) {
                change_done(&c);
                return -ENOMEM;
        }
        cs->items[cs->n++] = c;
        return 0;
}

const model_device *const *model_devices(model *m, size_t *ret_n)
{
        *ret_n = m->devices.n;
        return (const model_device *const *)model_index_sorted(&m->devices);
}

const model_group *const *model_groups(model *m, size_t *ret_n)
{
        *ret_n = m->groups.n;
        return (const model_group *const *)model_index_sorted(&m->groups);
}

size_t model_n_devices(const model *m)
{
        return m->devices.n;
}

size_t model_n_groups(const model *m)
{
        return m->groups.n;
}

model_device *model_device_get(const model *m, const char *address)
{
        if (!pci_address_valid_str(address))
                return NULL;
        return model_index_get(&m->devices, pci_address_pack(address));
}

model_group *model_group_get(const model *m, int number)
{
        if (number < 0)
                return NULL;
        return model_index_get(&m->groups, (uint64_t)(unsigned)number);
}

const model_device *model_find_device(const model *m, const char *address)
{
        return model_device_get(m, address);
}

const model_group *model_find_group(const model *m, int group)
{
        return model_group_get(m, group);
}

/* A group's version moves with its members': its rendering shows them. */
static void touch_device(model *m, model_device *d)
{
        model_group *g = d->group >= 0 ? model_group_get(m, d->group) : NULL;

        d->version = ++m->version;
        if (g)
                g->version = d->version;
}

void model_set_device_cache(model *m, const model_device *d, void *cache)
{
        model_device *own = model_device_get(m, d->address);

        assert(own == d);
        free(own->cache);
        own->cache = cache;
}

void model_set_group_cache(model *m, const model_group *g, void *cache)
{
        model_group *own = model_group_get(m, g->number);

        assert(own == g);
        free(own->cache);
        own->cache = cache;
}

static int details_take(model_device *d, const sysfs_device *s);

int model_set_device_owner(model *m, const char *address, void *owner)
{
        model_device *d = model_device_get(m, address);
        sysfs_device s;
        int r;

        if (!d)
                return -ENOENT;
        if (d->owner != owner)
                touch_device(m, d);
        d->owner = owner;
        if (!owner || d->details)
                return 0;
        r = sysfs_read_device(m->root_fd, -EBADF, address, &s);
        if (r < 0)
                log_debug_errno(r, "Cannot read the details of %s: %m", address);
        /* The cdev number is the cdev's: another cdev is news for the device's own events. */
        else if (streq_ptr(d->cdev, s.cdev[0] ? s.cdev : NULL))
                (void)details_take(d, &s);
        return 0;
}

int model_set_group_owner(model *m, int group, void *owner)
{
        model_group *g = model_group_get(m, group);

        if (!g)
                return -ENOENT;
        if (g->owner != owner)
                g->version = ++m->version;
        g->owner = owner;
        return 0;
}

/* ---- Devices ---- */

/* Sets *p to a copy of v ("" meaning NULL). 1 if it changed, 0 if not, -ENOMEM. */
static int set_str(char **p, const char *v)
{
        char *s;

        if (!v[0] ? !*p : streq(*p, v))
                return 0;
        s = v[0] ? strdup(v) : NULL;
        if (v[0] && !s)
                return -ENOMEM;
        free(*p);
        *p = s;
        return 1;
}

/* An id kept in the device itself (store), which *p then points to; "" is NULL. Whether it
 * changed. */
static bool set_id(char **p, char store[static 9], const char *v)
{
        bool changed = !v[0] ? !!*p : !*p || !streq(*p, v);

        if (changed && v[0])
                strncpy(store, v, 8);
        *p = v[0] ? store : NULL;
        return changed;
}

static int device_new(model *m, const char *address, model_device **ret)
{
        model_device *d = calloc(1, sizeof(*d));
        int r;

        if (!d)
                return -ENOMEM;
        strcpy(d->address, address);
        d->key = pci_address_pack(address);
        d->group = -1;
        d->sriov_totalvfs = d->sriov_numvfs = -1;
        r = model_index_add(&m->devices, d);
        if (r < 0) {
                free(d);
                return r;
        }
        *ret = d;
        return 0;
}

/* The details as a read without them leaves them: unknown. */
static void details_forget(model_device *d)
{
        d->details = false;
        d->physfn[0] = 0;
        d->sriov_totalvfs = d->sriov_numvfs = -1;
        d->cdev_devnum = 0;
}

/* Takes the details of a full read. 1 if they differ from details known before, 0 if not (or if
 * none were known: learning them is no change). */
static int details_take(model_device *d, const sysfs_device *s)
{
        bool known = d->details;
        bool changed = d->cdev_devnum != s->cdev_devnum || !streq(d->physfn, s->physfn) ||
                       d->sriov_totalvfs != s->sriov_totalvfs || d->sriov_numvfs != s->sriov_numvfs;

        d->cdev_devnum = s->cdev_devnum;
        strcpy(d->physfn, s->physfn);
        d->sriov_totalvfs = s->sriov_totalvfs;
        d->sriov_numvfs = s->sriov_numvfs;
        d->details = true;
        return known && changed;
}

int model_device_apply(model *m, const sysfs_device *s, model_changes *changes)
{
        model_device *d = model_device_get_checked(m, s->address);
        _cleanup_free_ char *old_driver = NULL;
        bool added = !d, changed, driver_changed;
        model_change c;
        int r;

        if (added) {
                r = device_new(m, s->address, &d);
                if (r < 0)
                        return r;
        }
        d->generation = m->generation;

        driver_changed = !streq_ptr(d->driver, s->driver[0] ? s->driver : NULL) ||
                         d->driver_unknown != s->driver_unknown;
        old_driver = TAKE_PTR(d->driver);
        d->driver_unknown = s->driver_unknown;
        r = set_str(&d->driver, s->driver);
        if (r < 0) {
                d->driver = TAKE_PTR(old_driver);
                return r;
        }

        changed = d->group != s->group;
        d->group = s->group;
        changed = set_id(&d->vendor, d->ids[0], s->vendor) || changed;
        changed = set_id(&d->device, d->ids[1], s->device) || changed;
        changed = set_id(&d->class, d->ids[2], s->class) || changed;
        r = set_str(&d->cdev, s->cdev);
        if (r >= 0) {
                changed = changed || r > 0;
                r = s->details ? details_take(d, s) : (details_forget(d), 0);
                changed = changed || r > 0;
        }
        if (added || driver_changed || changed || r < 0)
                touch_device(m, d); /* half updated is changed too */
        if (r < 0)
                return r;
        c = (model_change){ .group = d->group, .owner = d->owner };
        strcpy(c.address, d->address);
        if (added) {
                c.kind = MODEL_DEVICE_ADDED;
                return model_emit(changes, &c, NULL, d->driver);
        }
        if (driver_changed) {
                c.kind = MODEL_DRIVER_CHANGED;
                r = model_emit(changes, &c, old_driver, d->driver);
                if (r < 0)
                        return r;
        }
        if (changed) {
                c.kind = MODEL_DEVICE_CHANGED;
                return model_emit(changes, &c, NULL, NULL);
        }
        return 0;
}

int model_device_drop(model *m, model_device *d, model_changes *changes)
{
        model_change c = { .kind = MODEL_DEVICE_REMOVED, .group = d->group, .owner = d->owner };
        int r;

        strcpy(c.address, d->address);
        r = model_emit(changes, &c, d->driver, NULL);
        model_index_del(&m->devices, d);
        device_free(d);
        return r;
}

/* ---- Groups ---- */

static int group_new(model *m, int number, model_group **ret)
{
        model_group *g = calloc(1, sizeof(*g));
        int r;

        if (!g)
                return -ENOMEM;
        g->number = number;
        g->fresh = true;
        r = model_index_add(&m->groups, g);
        if (r < 0) {
                free(g);
                return r;
        }
        *ret = g;
        return 0;
}

int model_group_drop(model *m, model_group *g, model_changes *changes)
{
        model_change c = { .kind = MODEL_GROUP_REMOVED,
                           .group = g->number,
                           .viable_before = g->viability.viable,
                           .owner = g->owner };
        int r;

        /* A group that never got a verdict was never announced. */
        r = g->fresh ? 0 : model_emit(changes, &c, NULL, NULL);
        model_index_del(&m->groups, g);
        group_free(g);
        return r;
}

bool model_members_equal(const model_group *g, const sysfs_group *s)
{
        return g->n_devices == s->n_devices && g->n_foreign == s->n_foreign &&
               g->unreadable == s->unreadable &&
               (s->n_devices == 0 ||
                memcmp(g->devices, s->devices, s->n_devices * sizeof(*s->devices)) == 0);
}

/* Takes the membership and type in s (consumed) as the group's, finding or creating it. */
int model_group_store(model *m, sysfs_group *s, model_group **ret)
{
        model_group *g = model_group_get(m, s->number);
        int r;

        if (!g) {
                r = group_new(m, s->number, &g);
                if (r < 0)
                        return r;
        }
        g->generation = m->generation;
        r = set_str(&g->type, s->type);
        if (r < 0)
                return r;
        if (r > 0 || !model_members_equal(g, s)) {
                g->dirty = true;
                g->version = ++m->version;
                free(g->devices);
                g->devices = TAKE_PTR(s->devices);
                g->n_devices = s->n_devices;
                g->n_foreign = s->n_foreign;
                g->unreadable = s->unreadable;
        }
        sysfs_group_done(s);
        *ret = g;
        return 0;
}

/* Recomputes the verdict and reports the group if it is new or anything about it changed. */
int model_group_judge(model *m, model_group *g, model_changes *changes)
{
        viability_member stack[16], *members = stack;
        _cleanup_free_ viability_member *heap = NULL;
        viability v;
        model_change c = { .group = g->number, .owner = g->owner };
        int r;

        if (g->n_devices > ELEMENTSOF(stack)) {
                members = heap = calloc(g->n_devices, sizeof(*members));
                if (!heap)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < g->n_devices; i++) {
                const model_device *d = model_device_get_checked(m, g->devices[i]);

                members[i] = (viability_member){
                        .address = g->devices[i],
                        .driver = d ? d->driver : NULL,
                        .driver_unknown = d && d->driver_unknown,
                        .missing = !d,
                        .bridge = d && model_device_is_pci_bridge(d),
                };
        }
        r = viability_check(m->cfg,
                            &(viability_group){ .number = g->number,
                                                .type = g->type,
                                                .members = members,
                                                .n_members = g->n_devices,
                                                .n_foreign = g->n_foreign,
                                                .unreadable = g->unreadable },
                            &v);
        if (r < 0)
                return r;

        c.viable_before = g->viability.viable;
        c.viable_after = v.viable;
        if (g->fresh)
                c.kind = MODEL_GROUP_ADDED;
        else if (g->dirty || !viability_equal(&g->viability, &v))
                c.kind = MODEL_GROUP_CHANGED;
        else {
                viability_done(&v);
                return 0;
        }
        viability_done(&g->viability);
        g->viability = v;
        g->fresh = g->dirty = false;
        g->version = ++m->version;
        return model_emit(changes, &c, NULL, NULL);
}

/* Re-reads one group. The kernel's member list is the truth, with two corrections for the
 * moments when sysfs and the events disagree: `gone` (a device just removed) is left out, and
 * `claimant` (a device whose iommu_group link names this group) is counted in, so a verdict
 * never leaves out a device that could be doing DMA. */
int model_group_sync(model *m, int number, const char *gone, const model_device *claimant,
                     model_changes *changes)
{
        _cleanup_(sysfs_group_done) sysfs_group s = { .number = number };
        model_group *g = model_group_get(m, number);
        bool exists;
        int r;

        r = sysfs_read_group(m->root_fd, number, &s);
        if (r == -ENOMEM)
                return r;
        /* Refused (and logged): kept, as a group that cannot be vouched for. */
        s.unreadable = r < 0 && r != -ENOENT;
        exists = r != -ENOENT;
        if (gone)
                sysfs_group_remove_member(&s, gone);
        if (claimant && claimant->group == number) {
                r = sysfs_group_add_member(&s, claimant->address);
                if (r < 0)
                        return r;
        }
        if (!exists && s.n_devices == 0)
                return g ? model_group_drop(m, g, changes) : 0;
        r = model_group_store(m, &s, &g);
        if (r < 0)
                return r;
        return model_group_judge(m, g, changes);
}

/* ---- Updates ---- */

static int forget(model *m, const char *address, bool gone, model_changes *changes)
{
        model_device *d = model_device_get(m, address);
        int group, r;

        if (!d)
                return 0;
        group = d->group;
        r = model_device_drop(m, d, changes);
        if (r < 0 || group < 0)
                return r;
        return model_group_sync(m, group, gone ? address : NULL, NULL, changes);
}

int model_remove_device(model *m, const char *address, model_changes *changes)
{
        if (!pci_address_valid_str(address))
                return -EINVAL;
        return forget(m, address, true, changes);
}

int model_update_device(model *m, const char *address, model_changes *changes)
{
        sysfs_device s;
        model_device *d;
        int old_group, r;

        if (!pci_address_valid_str(address))
                return -EINVAL;
        r = sysfs_read_device(m->root_fd, -EBADF, address, &s);
        if (r == -ENOMEM)
                return r;
        /* A refused device stays in its group's list as unreadable: not viable. (One never
         * seen before names no group we could re-read; a rescan counts it in.) */
        if (r < 0)
                return forget(m, address, r == -ENOENT, changes);

        d = model_device_get(m, address);
        old_group = d ? d->group : -1;
        r = model_device_apply(m, &s, changes);
        if (r < 0)
                return r;
        d = model_device_get(m, address);
        if (old_group >= 0 && old_group != d->group) {
                r = model_group_sync(m, old_group, NULL, NULL, changes);
                if (r < 0)
                        return r;
        }
        return d->group >= 0 ? model_group_sync(m, d->group, NULL, d, changes) : 0;
}

int model_set_config(model *m, const viability_config *cfg, model_changes *changes)
{
        model_group **all = (model_group **)model_index_sorted(&m->groups);

        m->cfg = cfg ?: &viability_config_default;
        for (size_t i = 0; i < m->groups.n; i++) {
                int r = model_group_judge(m, all[i], changes);

                if (r < 0)
                        return r;
        }
        return 0;
}
