/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "viability.h"

static const char *const default_vfio[] = { "vfio-pci", NULL };
/* Module names turn '-' into '_': variant drivers named after their module end in _vfio_pci. */
static const char *const default_vfio_suffixes[] = { "_vfio_pci", "-vfio-pci", NULL };
static const char *const default_stubs[] = { "pci-stub", NULL };
/* Only drivers that declare driver_managed_dma leave a group claimable: pcieport does; shpchp
 * does not (a bridge bound to it keeps the kernel's DMA domain, and claiming its group fails:
 * EPERM from VFIO_DEVICE_BIND_IOMMUFD, not VIABLE for a VFIO group; seen on 6.12). */
static const char *const default_bridges[] = { "pcieport", NULL };

const viability_config viability_config_default = {
        .vfio_drivers = default_vfio,
        .vfio_driver_suffixes = default_vfio_suffixes,
        .stub_drivers = default_stubs,
        .bridge_drivers = default_bridges,
};

static bool in_list(const char *const *list, const char *s)
{
        for (; list && *list; list++)
                if (streq(*list, s))
                        return true;
        return false;
}

static bool has_suffix(const char *const *list, const char *s)
{
        size_t n = strlen(s);

        for (; list && *list; list++) {
                size_t k = strlen(*list);

                /* The suffix alone is not a driver name. */
                if (k > 0 && n > k && streq(s + n - k, *list))
                        return true;
        }
        return false;
}

viability_driver_kind viability_classify(const viability_config *cfg, const char *driver)
{
        if (!cfg)
                cfg = &viability_config_default;
        if (!driver)
                return VIABILITY_DRIVER_NONE;
        if (in_list(cfg->vfio_drivers, driver) || has_suffix(cfg->vfio_driver_suffixes, driver))
                return VIABILITY_DRIVER_VFIO;
        if (in_list(cfg->stub_drivers, driver))
                return VIABILITY_DRIVER_STUB;
        if (in_list(cfg->bridge_drivers, driver))
                return VIABILITY_DRIVER_BRIDGE;
        return VIABILITY_DRIVER_HOST;
}

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void viability_done(viability *v)
{
        strv_free(v->reasons, v->n_reasons);
        strv_free(v->notes, v->n_notes);
        *v = (viability){};
}

_printf_(3, 4) static int add(char ***v, size_t *n, const char *fmt, ...)
{
        char **p, *s;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        p = reallocarray(*v, *n + 1, sizeof(char *));
        if (!p) {
                free(s);
                return -ENOMEM;
        }
        p[(*n)++] = s;
        *v = p;
        return 0;
}

static int check_member(const viability_config *cfg, const char *fix, const char *type,
                        const viability_member *mb, viability *v)
{
        if (mb->missing)
                return add(&v->reasons, &v->n_reasons,
                           "%s is in the group but its device could not be read", mb->address);
        if (mb->driver_unknown)
                return add(&v->reasons, &v->n_reasons,
                           "%s is bound to a driver that cannot be identified; unbind it",
                           mb->address);

        switch (viability_classify(cfg, mb->driver)) {
        case VIABILITY_DRIVER_NONE:
                if (streq(type, "identity"))
                        return add(&v->notes, &v->n_notes,
                                   "%s has no driver and is not isolated: the group's default "
                                   "domain is identity, so its DMA is untranslated until the "
                                   "group is claimed",
                                   mb->address);
                return 0;
        case VIABILITY_DRIVER_VFIO:
        case VIABILITY_DRIVER_STUB:
        case VIABILITY_DRIVER_BRIDGE:
                return 0;
        case VIABILITY_DRIVER_HOST:
        default:
                /* No vfio driver takes a bridge: the only fix is to let it go. */
                if (mb->bridge)
                        return add(&v->reasons, &v->n_reasons,
                                   "%s is a bridge bound to %s, which keeps the kernel's DMA "
                                   "domain; unbind it",
                                   mb->address, mb->driver);
                return add(&v->reasons, &v->n_reasons,
                           "%s is bound to %s; bind it to %s or unbind it", mb->address, mb->driver,
                           fix);
        }
}

int viability_check(const viability_config *cfg, const viability_group *g, viability *ret)
{
        _cleanup_(viability_done) viability v = {};
        const char *fix;
        int r = 0;

        if (!cfg)
                cfg = &viability_config_default;
        fix = cfg->vfio_drivers && cfg->vfio_drivers[0] ? cfg->vfio_drivers[0] : "vfio-pci";

        for (size_t i = 0; i < g->n_members; i++) {
                r = check_member(cfg, fix, g->type, &g->members[i], &v);
                if (r < 0)
                        return r;
        }
        if (g->n_foreign == 1)
                r = add(&v.reasons, &v.n_reasons,
                        "group %d has a member that is not a PCI device; its isolation cannot be "
                        "checked",
                        g->number);
        else if (g->n_foreign > 1)
                r = add(&v.reasons, &v.n_reasons,
                        "group %d has %zu members that are not PCI devices; their isolation "
                        "cannot be checked",
                        g->number, g->n_foreign);
        if (r >= 0 && g->unreadable)
                r = add(&v.reasons, &v.n_reasons, "the member list of group %d could not be read",
                        g->number);
        else if (r >= 0 && g->n_members == 0 && g->n_foreign == 0)
                r = add(&v.reasons, &v.n_reasons, "group %d has no devices", g->number);
        if (r < 0)
                return r;
        v.viable = v.n_reasons == 0;
        *ret = v;
        v = (viability){};
        return 0;
}

static bool strv_equal(char **a, size_t na, char **b, size_t nb)
{
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

bool viability_equal(const viability *a, const viability *b)
{
        return a->viable == b->viable &&
               strv_equal(a->reasons, a->n_reasons, b->reasons, b->n_reasons) &&
               strv_equal(a->notes, a->n_notes, b->notes, b->n_notes);
}
