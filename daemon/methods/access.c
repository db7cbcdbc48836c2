/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include "access.h"
#include "audit.h"
#include "log.h"
#include "macro.h"
#include "model.h"

#define NSS_BUF_MAX   (1024 * 1024)
#define USER_GIDS_MAX 65536

/* getpwuid_r/getgrgid_r want a buffer of unknown size: grow it on ERANGE, within reason. */
static int lookup_name(bool user, uint32_t id, char **ret)
{
        size_t size = 1024;

        for (;;) {
                _cleanup_free_ char *buf = malloc(size);
                struct passwd pw, *pwr = NULL;
                struct group gr, *grr = NULL;
                int r;

                if (!buf)
                        return -ENOMEM;
                r = user ? getpwuid_r(id, &pw, buf, size, &pwr)
                         : getgrgid_r(id, &gr, buf, size, &grr);
                if (r == ERANGE && size < NSS_BUF_MAX) {
                        size *= 2;
                        continue;
                }
                if (r != 0)
                        return -r;
                if (!pwr && !grr)
                        return -ESRCH;
                *ret = strdup(user ? pwr->pw_name : grr->gr_name);
                return *ret ? 0 : -ENOMEM;
        }
}

/* Names of gids that have one; a gid without a name simply has none to match. */
static int resolve_group_names(access_subject *a)
{
        a->group_names = calloc(a->s.n_gids + 1, sizeof(char *));
        if (!a->group_names)
                return -ENOMEM;
        for (size_t i = 0; i < a->s.n_gids; i++) {
                char *name;
                int r = lookup_name(false, a->s.gids[i], &name);

                if (r == -ENOMEM)
                        return r;
                if (r >= 0)
                        a->group_names[a->s.n_group_names++] = name;
        }
        a->s.group_names = (const char *const *)a->group_names;
        return 0;
}

static int set_user(access_subject *a, uid_t uid)
{
        int r;

        a->s.uid = uid;
        r = lookup_name(true, uid, &a->user);
        if (r == -ENOMEM)
                return r;
        /* An unknown user matches no "users" entry: fail closed, not an error. */
        a->s.user = a->user;
        return 0;
}

int access_subject_from_peer(const vl_peer *peer, unsigned needs, access_subject *ret)
{
        _cleanup_(access_subject_done) access_subject a = {};
        size_t n = 1 + (peer->groups ? peer->n_groups : 0);
        int r;

        /* Only what some rule reads is looked up: NSS may be slow (sssd, userdb), and this runs
         * in the event loop. */
        if (needs & POLICY_NEEDS_USER) {
                r = set_user(&a, peer->uid);
                if (r < 0)
                        return r;
        } else
                a.s.uid = peer->uid;
        a.gids = calloc(n, sizeof(gid_t));
        if (!a.gids)
                return -ENOMEM;
        a.gids[0] = peer->gid;
        if (peer->groups)
                memcpy(a.gids + 1, peer->groups, peer->n_groups * sizeof(gid_t));
        a.s.gids = a.gids;
        a.s.n_gids = n;
        if (needs & POLICY_NEEDS_GROUP_NAMES) {
                r = resolve_group_names(&a);
                if (r < 0)
                        return r;
        }

        /* The caller's unit, not a holder's: the caller is the authenticated peer and gets the
         * fds, while a holder is whatever process of the uid the caller names. The unit comes
         * from the pid's cgroup; the pid counts only while the pidfd says the peer still runs,
         * so a recycled pid cannot lend its unit. */
        if ((needs & POLICY_NEEDS_UNIT) && peer->pidfd >= 0 &&
            sd_pid_get_unit(peer->pid, &a.unit) >= 0 &&
            syscall(SYS_pidfd_send_signal, peer->pidfd, 0, NULL, 0) < 0)
                a.unit = mfree(a.unit);
        a.s.unit = a.unit;

        *ret = a;
        a = (access_subject){};
        return 0;
}

int access_subject_from_uid(uid_t uid, access_subject *ret)
{
        _cleanup_(access_subject_done) access_subject a = {};
        _cleanup_free_ char *buf = NULL;
        struct passwd pw, *pwr = NULL;
        int n = 64, r;

        r = set_user(&a, uid);
        if (r < 0)
                return r;
        if (a.user) {
                buf = malloc(NSS_BUF_MAX);
                if (!buf)
                        return -ENOMEM;
                r = getpwuid_r(uid, &pw, buf, NSS_BUF_MAX, &pwr);
                if (r != 0 || !pwr)
                        pwr = NULL;
        }
        if (pwr) {
                for (;;) {
                        gid_t *g = reallocarray(a.gids, (size_t)n, sizeof(gid_t));
                        int m = n;

                        if (!g)
                                return -ENOMEM;
                        a.gids = g;
                        if (getgrouplist(pwr->pw_name, pwr->pw_gid, a.gids, &m) >= 0) {
                                a.s.n_gids = (size_t)m;
                                break;
                        }
                        if (m <= n || m > USER_GIDS_MAX)
                                return -E2BIG;
                        n = m;
                }
                a.s.gids = a.gids;
        }
        r = resolve_group_names(&a);
        if (r < 0)
                return r;
        *ret = a;
        a = (access_subject){};
        return 0;
}

void access_subject_done(access_subject *a)
{
        free(a->user);
        free(a->gids);
        if (a->group_names)
                for (size_t i = 0; i < a->s.n_group_names; i++)
                        free(a->group_names[i]);
        free(a->group_names);
        free(a->unit);
        *a = (access_subject){};
}

int access_reload(daemon_state *d, char **ret_error)
{
        _cleanup_free_ char *error = NULL;
        policy *p = NULL;
        int r;

        r = policy_load_dir(d->policy_dir, &p, &error);
        if (r < 0) {
                log_error_errno(r, "Policy in %s not loaded, the policy in force stays: %s",
                                d->policy_dir, error ?: strerror(-r));
                if (ret_error)
                        *ret_error = TAKE_PTR(error);
                return r;
        }
        policy_free(d->policy);
        d->policy = p;
        log_info("Policy loaded from %s: %zu rules.", d->policy_dir, policy_n_rules(p));
        return (int)MIN(policy_n_rules(p), (size_t)INT32_MAX);
}

void access_done(daemon_state *d)
{
        d->policy = policy_free(d->policy);
}

static policy_device policy_device_of(const model_device *d)
{
        return (policy_device){ .address = d->address,
                                .vendor = d->vendor,
                                .device = d->device,
                                .class_ = d->class };
}

/* Bridges go with the group but are not handed to anyone (they do no DMA of their own), so a
 * policy need not name them: by their port driver, or, driver-less, by class (PCI bridge). */
static bool is_bridge(const model_device *d)
{
        if (viability_classify(&viability_config_default, d->driver) == VIABILITY_DRIVER_BRIDGE)
                return true;
        return !d->driver && model_device_is_pci_bridge(d);
}

int access_check_device(daemon_state *d, const policy_subject *s, const char *address,
                        policy_action a, unsigned n_held, policy_verdict *ret)
{
        _cleanup_free_ policy_device *members = NULL;
        const model_device *dev = model_find_device(d->model, address);
        const model_group *g;
        policy_device requested;
        size_t n = 0;

        if (!dev)
                return -ENODEV;
        requested = policy_device_of(dev);
        g = dev->group >= 0 ? model_find_group(d->model, dev->group) : NULL;
        if (g && g->n_devices > 0) {
                members = calloc(g->n_devices, sizeof(*members));
                if (!members)
                        return -ENOMEM;
                for (size_t i = 0; i < g->n_devices; i++) {
                        const model_device *m = model_group_device(d->model, g, i);

                        if (!m || is_bridge(m))
                                continue;
                        members[n++] = policy_device_of(m);
                }
        }
        return policy_check_group(d->policy, s, &requested, members, n, a,
                                  n_held + (unsigned)MAX(n, (size_t)1), ret);
}

int access_authorize_admin(vl_link *link, const vl_method *method, void *userdata)
{
        daemon_state *d = userdata;
        _cleanup_(access_subject_done) access_subject a = {};
        policy_verdict v;
        int r;

        if (vl_link_peer(link)->uid == 0)
                return 1;
        r = access_subject_from_peer(vl_link_peer(link), policy_subject_needs(d->policy), &a);
        if (r < 0)
                return log_error_errno(r, "Cannot resolve the caller of %s: %m", method->name);
        r = policy_check_admin(d->policy, &a.s, &v);
        if (r < 0)
                return r;
        if (!v.allowed)
                log_notice("uid %u denied io.ioasid.Admin.%s: %s", (unsigned)a.s.uid, method->name,
                           v.reason);
        if (!v.allowed)
                audit(AUDIT_REFUSE, LOG_NOTICE, method->name,
                      .error = "io.ioasid.Admin.PermissionDenied", .uid = AUDIT_ID(a.s.uid),
                      .pid = AUDIT_ID(vl_link_peer(link)->pid));
        return v.allowed;
}
