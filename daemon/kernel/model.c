/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fd-util.h"
#include "log.h"
#include "model-index.h"
#include "model.h"
#include "sysfs.h"

/* ---- The model ---- */

struct model {
        int root_fd;
        const viability_config *cfg;
        unsigned generation;
        uint64_t version; /* the last one handed to an object */

        model_index devices, groups;
};

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
        free(d->vendor);
        free(d->device);
        free(d->class);
        free(d->driver);
        free(d->driver_override);
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

static int emit(model_changes *cs, const model_change *proto, const char *old_driver,
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

static model_device *device_get(const model *m, const char *address)
{
        if (!pci_address_valid_str(address))
                return NULL;
        return model_index_get(&m->devices, pci_address_pack(address));
}

static model_group *group_get(const model *m, int number)
{
        if (number < 0)
                return NULL;
        return model_index_get(&m->groups, (uint64_t)(unsigned)number);
}

const model_device *model_find_device(const model *m, const char *address)
{
        return device_get(m, address);
}

const model_group *model_find_group(const model *m, int group)
{
        return group_get(m, group);
}

/* A group's version moves with its members': its rendering shows them. */
static void touch_device(model *m, model_device *d)
{
        model_group *g = d->group >= 0 ? group_get(m, d->group) : NULL;

        d->version = ++m->version;
        if (g)
                g->version = d->version;
}

void model_set_device_cache(model *m, const model_device *d, void *cache)
{
        model_device *own = device_get(m, d->address);

        assert(own == d);
        free(own->cache);
        own->cache = cache;
}

void model_set_group_cache(model *m, const model_group *g, void *cache)
{
        model_group *own = group_get(m, g->number);

        assert(own == g);
        free(own->cache);
        own->cache = cache;
}

int model_set_device_owner(model *m, const char *address, void *owner)
{
        model_device *d = device_get(m, address);

        if (!d)
                return -ENOENT;
        if (d->owner != owner) {
                d->owner = owner;
                touch_device(m, d);
        }
        return 0;
}

int model_set_group_owner(model *m, int group, void *owner)
{
        model_group *g = group_get(m, group);

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

/* Brings the device named by s up to date, reporting what changed. */
static int device_apply(model *m, const sysfs_device *s, model_changes *changes)
{
        model_device *d = device_get(m, s->address);
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

        changed = d->group != s->group || d->cdev_devnum != s->cdev_devnum ||
                  !streq(d->physfn, s->physfn) || d->sriov_totalvfs != s->sriov_totalvfs ||
                  d->sriov_numvfs != s->sriov_numvfs;
        d->group = s->group;
        d->cdev_devnum = s->cdev_devnum;
        strcpy(d->physfn, s->physfn);
        d->sriov_totalvfs = s->sriov_totalvfs;
        d->sriov_numvfs = s->sriov_numvfs;
        const struct {
                char **field;
                const char *value;
        } strs[] = {
                { &d->vendor, s->vendor }, { &d->device, s->device },
                { &d->class, s->class },   { &d->driver_override, s->driver_override },
                { &d->cdev, s->cdev },
        };
        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                r = set_str(strs[i].field, strs[i].value);
                if (r < 0) {
                        /* Half updated is still changed. */
                        touch_device(m, d);
                        return r;
                }
                changed = changed || r > 0;
        }

        if (added || driver_changed || changed)
                touch_device(m, d);
        c = (model_change){ .group = d->group, .owner = d->owner };
        strcpy(c.address, d->address);
        if (added) {
                c.kind = MODEL_DEVICE_ADDED;
                return emit(changes, &c, NULL, d->driver);
        }
        if (driver_changed) {
                c.kind = MODEL_DRIVER_CHANGED;
                r = emit(changes, &c, old_driver, d->driver);
                if (r < 0)
                        return r;
        }
        if (changed) {
                c.kind = MODEL_DEVICE_CHANGED;
                return emit(changes, &c, NULL, NULL);
        }
        return 0;
}

static int device_drop(model *m, model_device *d, model_changes *changes)
{
        model_change c = { .kind = MODEL_DEVICE_REMOVED, .group = d->group, .owner = d->owner };
        int r;

        strcpy(c.address, d->address);
        r = emit(changes, &c, d->driver, NULL);
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

static int group_drop(model *m, model_group *g, model_changes *changes)
{
        model_change c = { .kind = MODEL_GROUP_REMOVED,
                           .group = g->number,
                           .viable_before = g->viability.viable,
                           .owner = g->owner };
        int r;

        /* A group that never got a verdict was never announced. */
        r = g->fresh ? 0 : emit(changes, &c, NULL, NULL);
        model_index_del(&m->groups, g);
        group_free(g);
        return r;
}

static bool members_equal(const model_group *g, const sysfs_group *s)
{
        return g->n_devices == s->n_devices && g->n_foreign == s->n_foreign &&
               g->unreadable == s->unreadable &&
               (s->n_devices == 0 ||
                memcmp(g->devices, s->devices, s->n_devices * sizeof(*s->devices)) == 0);
}

/* Takes the membership and type in s (consumed) as the group's, finding or creating it. */
static int group_store(model *m, sysfs_group *s, model_group **ret)
{
        model_group *g = group_get(m, s->number);
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
        if (r > 0 || !members_equal(g, s)) {
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
static int group_judge(model *m, model_group *g, model_changes *changes)
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
                const model_device *d = device_get(m, g->devices[i]);

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
        return emit(changes, &c, NULL, NULL);
}

/* Re-reads one group. The kernel's member list is the truth, with two corrections for the
 * moments when sysfs and the events disagree: `gone` (a device just removed) is left out, and
 * `claimant` (a device whose iommu_group link names this group) is counted in, so a verdict
 * never leaves out a device that could be doing DMA. */
static int group_sync(model *m, int number, const char *gone, const model_device *claimant,
                      model_changes *changes)
{
        _cleanup_(sysfs_group_done) sysfs_group s = { .number = number };
        model_group *g = group_get(m, number);
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
                return g ? group_drop(m, g, changes) : 0;
        r = group_store(m, &s, &g);
        if (r < 0)
                return r;
        return group_judge(m, g, changes);
}

/* ---- Scans and updates ---- */

static int cmp_sysfs_group(const void *a, const void *b)
{
        int x = ((const sysfs_group *)a)->number, y = ((const sysfs_group *)b)->number;

        return x < y ? -1 : x > y;
}

typedef struct group_list {
        sysfs_group *items;
        size_t n;
} group_list;

static void group_list_done(group_list *l)
{
        sysfs_groups_free(l->items, l->n);
}

static int cmp_address(const void *a, const void *b)
{
        return strcmp(a, b);
}

static int scan_devices(model *m, model_changes *changes)
{
        _cleanup_free_ char(*addresses)[PCI_ADDRESS_SIZE] = NULL;
        _cleanup_close_ int devices_fd = -EBADF;
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
        /* In address order, so that change lists read like a listing. */
        if (n > 0)
                qsort(addresses, n, sizeof(*addresses), cmp_address);
        for (size_t i = 0; i < n; i++) {
                sysfs_device s;

                if (sysfs_read_device(m->root_fd, devices_fd, addresses[i], &s) < 0)
                        continue; /* gone, or refused and logged */
                r = device_apply(m, &s, changes);
                if (r < 0)
                        return r;
        }
        all = (model_device **)model_index_sorted(&m->devices);
        for (size_t i = m->devices.n; i > 0; i--)
                if (all[i - 1]->generation != m->generation) {
                        r = device_drop(m, all[i - 1], changes);
                        if (r < 0)
                                return r;
                }
        return 0;
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
        _cleanup_(group_list_done) group_list l = {};
        model_group **all;
        int r;

        m->generation++;
        r = scan_devices(m, changes);
        if (r < 0)
                return r;
        r = sysfs_read_groups(m->root_fd, &l.items, &l.n);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT)
                log_notice(
                        "sysfs has no IOMMU groups: the IOMMU is off; nothing can be handed out.");
        else if (r < 0)
                log_error_errno(r, "Cannot read the IOMMU groups, no group is viable: %m");
        r = add_claimants(m, &l, r < 0 && r != -ENOENT);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l.n; i++) {
                model_group *g;

                r = group_store(m, &l.items[i], &g);
                if (r < 0)
                        return r;
        }
        all = (model_group **)model_index_sorted(&m->groups);
        for (size_t i = m->groups.n; i > 0; i--)
                if (all[i - 1]->generation != m->generation) {
                        r = group_drop(m, all[i - 1], changes);
                        if (r < 0)
                                return r;
                }
        all = (model_group **)model_index_sorted(&m->groups);
        for (size_t i = 0; i < m->groups.n; i++) {
                r = group_judge(m, all[i], changes);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int forget(model *m, const char *address, bool gone, model_changes *changes)
{
        model_device *d = device_get(m, address);
        int group, r;

        if (!d)
                return 0;
        group = d->group;
        r = device_drop(m, d, changes);
        if (r < 0 || group < 0)
                return r;
        return group_sync(m, group, gone ? address : NULL, NULL, changes);
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

        d = device_get(m, address);
        old_group = d ? d->group : -1;
        r = device_apply(m, &s, changes);
        if (r < 0)
                return r;
        d = device_get(m, address);
        if (old_group >= 0 && old_group != d->group) {
                r = group_sync(m, old_group, NULL, NULL, changes);
                if (r < 0)
                        return r;
        }
        return d->group >= 0 ? group_sync(m, d->group, NULL, d, changes) : 0;
}

int model_set_config(model *m, const viability_config *cfg, model_changes *changes)
{
        model_group **all = (model_group **)model_index_sorted(&m->groups);

        m->cfg = cfg ?: &viability_config_default;
        for (size_t i = 0; i < m->groups.n; i++) {
                int r = group_judge(m, all[i], changes);

                if (r < 0)
                        return r;
        }
        return 0;
}
