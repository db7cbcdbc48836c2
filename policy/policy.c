/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The evaluator: matching a subject and a device against the compiled rules, and the verdicts. */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"

static const char *const action_names[_POLICY_ACTION_MAX] = {
        [POLICY_ACQUIRE] = "acquire",
        [POLICY_MANAGED] = "managed",
        [POLICY_ADMIN] = "admin",
};

const char *policy_action_to_string(policy_action a)
{
        return (unsigned)a < _POLICY_ACTION_MAX ? action_names[a] : NULL;
}

policy *policy_new(void)
{
        return calloc(1, sizeof(policy));
}

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

void policy_rule_done(policy_rule *r)
{
        free(r->name);
        free(r->id);
        free(r->uids);
        strv_free(r->users, r->n_users);
        strv_free(r->groups, r->n_groups);
        free(r->gids);
        strv_free(r->units, r->n_units);
        strv_free(r->addresses, r->n_addresses);
        free(r->ids);
        strv_free(r->classes, r->n_classes);
        *r = (policy_rule){ 0 };
}

policy *policy_free(policy *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_rules; i++)
                policy_rule_done(&p->rules[i]);
        free(p->rules);
        strv_free(p->files, p->n_files);
        free(p);
        return NULL;
}

size_t policy_n_rules(const policy *p)
{
        return p ? p->n_rules : 0;
}

unsigned policy_subject_needs(const policy *p)
{
        return p ? p->subject_needs : 0;
}

static int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Exactly four hex digits, or "*". */
static int id_half(const char *s, size_t len, int32_t *ret)
{
        int32_t v = 0;

        if (len == 1 && s[0] == '*') {
                *ret = POLICY_ID_ANY;
                return 0;
        }
        if (len != 4)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                int d = hex_digit(s[i]);
                if (d < 0)
                        return -EINVAL;
                v = v * 16 + d;
        }
        *ret = v;
        return 0;
}

int policy_id_from_string(const char *s, policy_id *ret)
{
        const char *colon = strchr(s, ':');
        policy_id id;

        if (!colon || id_half(s, (size_t)(colon - s), &id.vendor) < 0 ||
            id_half(colon + 1, strlen(colon + 1), &id.device) < 0)
                return -EINVAL;
        *ret = id;
        return 0;
}

int32_t policy_hex_from_sysfs(const char *s, uint32_t max)
{
        uint32_t v = 0;
        size_t n = 0;

        if (!s)
                return -1;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        for (; *s; s++, n++) {
                int d = hex_digit(*s);
                if (d < 0 || n >= 8)
                        return -1;
                v = v * 16 + (uint32_t)d;
        }
        if (n == 0 || v > max)
                return -1;
        return (int32_t)v;
}

/* What an attribute the daemon could not determine does to a criterion: it satisfies a deny
 * rule and never an allow rule, so a failed lookup can only ever refuse. */
static bool unknown_matches(bool deny)
{
        return deny;
}

#define MATCH_EXACT (-1)

/* Whether value is in list, compared exactly or as fnmatch() patterns with glob_flags. */
static bool match_attribute(char *const *list, size_t n, const char *value, int glob_flags,
                            bool deny)
{
        if (!value)
                return unknown_matches(deny);
        for (size_t i = 0; i < n; i++)
                if (glob_flags == MATCH_EXACT ? streq(list[i], value)
                                              : fnmatch(list[i], value, glob_flags) == 0)
                        return true;
        return false;
}

static bool match_subject(const policy_rule *r, const policy_subject *s, bool deny)
{
        bool found;

        if (r->any_subject)
                return true;

        if (r->n_uids > 0) {
                found = false;
                for (size_t i = 0; i < r->n_uids && !found; i++)
                        found = r->uids[i] == s->uid;
                if (!found)
                        return false;
        }
        if (r->n_users > 0 && !match_attribute(r->users, r->n_users, s->user, MATCH_EXACT, deny))
                return false;
        if (r->n_groups > 0) {
                /* A list, never unknown: a name that did not resolve is simply not in it. */
                found = false;
                for (size_t i = 0; i < s->n_group_names && !found; i++)
                        found = s->group_names[i] &&
                                match_attribute(r->groups, r->n_groups, s->group_names[i],
                                                MATCH_EXACT, false);
                if (!found)
                        return false;
        }
        if (r->n_gids > 0) {
                found = false;
                for (size_t i = 0; i < s->n_gids && !found; i++)
                        for (size_t j = 0; j < r->n_gids && !found; j++)
                                found = s->gids[i] == r->gids[j];
                if (!found)
                        return false;
        }
        /* Unit names escape with "\x2d": a backslash in a pattern is that character. */
        if (r->n_units > 0 && !match_attribute(r->units, r->n_units, s->unit, FNM_NOESCAPE, deny))
                return false;
        return true;
}

static bool id_half_matches(int32_t pattern, int32_t value, bool deny)
{
        if (pattern == POLICY_ID_ANY)
                return true;
        if (value < 0)
                return unknown_matches(deny);
        return pattern == value;
}

static bool match_device(const policy_rule *r, const policy_device *d, bool deny)
{
        /* Admin checks have no device; admin rules have no device criteria. */
        if (!d)
                return !policy_rule_has_devices(r);

        /* sysfs prints hex in lower case; a rule in upper case means the same device. */
        if (r->n_addresses > 0 &&
            !match_attribute(r->addresses, r->n_addresses, d->address, FNM_CASEFOLD, deny))
                return false;
        if (r->n_ids > 0) {
                int32_t vendor = policy_hex_from_sysfs(d->vendor, 0xffff);
                int32_t device = policy_hex_from_sysfs(d->device, 0xffff);
                bool found = false;

                for (size_t i = 0; i < r->n_ids && !found; i++)
                        found = id_half_matches(r->ids[i].vendor, vendor, deny) &&
                                id_half_matches(r->ids[i].device, device, deny);
                if (!found)
                        return false;
        }
        if (r->n_classes > 0 &&
            !match_attribute(r->classes, r->n_classes, d->class_, FNM_CASEFOLD, deny))
                return false;
        return true;
}

static bool rule_matches(const policy_rule *r, const policy_subject *s, const policy_device *d,
                         bool deny)
{
        return match_subject(r, s, deny) && match_device(r, d, deny);
}

_printf_(2, 3) static void verdict_printf(policy_verdict *v, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
        va_end(ap);
}

static void verdict_set(policy_verdict *v, bool allowed, const policy_rule *r)
{
        *v = (policy_verdict){
                .allowed = allowed,
                .rule = r ? r->id : NULL,
                .file = r ? r->file : NULL,
        };
}

/* sysfs shows "0x8086"; admins read and write "8086". */
static const char *hex_short(const char *s)
{
        if (!s)
                return "?";
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                return s + 2;
        return s;
}

/* "acquire on 0000:03:00.1 (8086:10d3, class 0x020000)", or "admin". */
static void describe_action(char *buf, size_t size, policy_action a, const policy_device *d)
{
        if (!d)
                (void)snprintf(buf, size, "%s", policy_action_to_string(a));
        else
                (void)snprintf(buf, size, "%s on %s (%s:%s, class %s)", policy_action_to_string(a),
                               d->address, hex_short(d->vendor), hex_short(d->device),
                               d->class_ ?: "?");
}

static void rule_label(char *buf, size_t size, const policy_rule *r)
{
        if (r->name)
                (void)snprintf(buf, size, "rule \"%s\" (%s)", r->name, r->file);
        else
                (void)snprintf(buf, size, "%s (%s)", r->id, r->file);
}

static int evaluate(const policy *p, const policy_subject *s, const policy_device *d,
                    policy_action a, unsigned n_would_hold, policy_verdict *ret)
{
        const policy_rule *grant = NULL, *limited = NULL;
        unsigned bit = 1u << a;
        char what[POLICY_REASON_MAX / 2], label[POLICY_REASON_MAX / 2];

        describe_action(what, sizeof(what), a, d);

        if (s->uid == 0) {
                verdict_set(ret, true, NULL);
                verdict_printf(ret, "uid 0 (root) may do everything: %s", what);
                return 0;
        }

        for (size_t i = 0; i < p->n_rules; i++) {
                const policy_rule *r = &p->rules[i];

                /* A matching deny wins over every allow, wherever either sits. */
                if ((r->deny & bit) && rule_matches(r, s, d, true)) {
                        verdict_set(ret, false, r);
                        rule_label(label, sizeof(label), r);
                        verdict_printf(ret, "%s denies %s to uid %u", label, what, s->uid);
                        return 0;
                }
                if (grant || !(r->allow & bit) || !rule_matches(r, s, d, false))
                        continue;
                /* Limits count devices; admin is not one. Any allow rule within its limit
                 * grants, so the outcome does not depend on which limited rule comes first. */
                if (a == POLICY_ADMIN || r->max_devices == 0 || n_would_hold <= r->max_devices)
                        grant = r;
                else if (!limited)
                        limited = r;
        }

        if (grant) {
                verdict_set(ret, true, grant);
                rule_label(label, sizeof(label), grant);
                verdict_printf(ret, "%s grants uid %u %s", label, s->uid, what);
        } else if (limited) {
                verdict_set(ret, false, limited);
                rule_label(label, sizeof(label), limited);
                verdict_printf(ret, "%s allows at most %u devices; uid %u would hold %u", label,
                               limited->max_devices, s->uid, n_would_hold);
        } else {
                verdict_set(ret, false, NULL);
                verdict_printf(ret, "no rule grants uid %u %s", s->uid, what);
        }
        return 0;
}

int policy_check(const policy *p, const policy_subject *s, const policy_device *d, policy_action a,
                 unsigned n_would_hold, policy_verdict *ret)
{
        if (!p || !s || !d || !d->address || !ret)
                return -EINVAL;
        if (a != POLICY_ACQUIRE && a != POLICY_MANAGED)
                return -EINVAL;
        return evaluate(p, s, d, a, n_would_hold, ret);
}

int policy_check_group(const policy *p, const policy_subject *s, const policy_device *requested,
                       const policy_device *group_members, size_t n_group_members, policy_action a,
                       unsigned n_would_hold, policy_verdict *ret)
{
        policy_verdict member;
        int r;

        if (n_group_members > 0 && !group_members)
                return -EINVAL;
        r = policy_check(p, s, requested, a, n_would_hold, ret);
        if (r < 0 || !ret->allowed)
                return r;

        for (size_t i = 0; i < n_group_members; i++) {
                const policy_device *m = &group_members[i];

                if (!m->address)
                        return -EINVAL;
                if (streq(m->address, requested->address))
                        continue;
                r = policy_check(p, s, m, a, n_would_hold, &member);
                if (r < 0)
                        return r;
                if (member.allowed)
                        continue;
                verdict_set(ret, false, NULL);
                ret->rule = member.rule;
                ret->file = member.file;
                verdict_printf(ret, "%s is in the same IOMMU group as %s: %s", m->address,
                               requested->address, member.reason);
                return 0;
        }
        return 0;
}

int policy_locked_memory_max(const policy *p, const policy_subject *s, uint64_t *ret_max,
                             const char **ret_rule)
{
        const policy_rule *best = NULL;

        if (!p || !s || !ret_max)
                return -EINVAL;
        if (s->uid == 0) {
                *ret_max = UINT64_MAX;
                if (ret_rule)
                        *ret_rule = NULL;
                return 0;
        }
        for (size_t i = 0; i < p->n_rules; i++) {
                const policy_rule *r = &p->rules[i];

                if (r->max_locked_memory == 0 || !(r->allow & (1u << POLICY_ACQUIRE)) ||
                    !match_subject(r, s, false))
                        continue;
                if (!best || r->max_locked_memory > best->max_locked_memory)
                        best = r;
        }
        *ret_max = best ? best->max_locked_memory : 0;
        if (ret_rule)
                *ret_rule = best ? best->id : NULL;
        return 0;
}

int policy_check_admin(const policy *p, const policy_subject *s, policy_verdict *ret)
{
        if (!p || !s || !ret)
                return -EINVAL;
        return evaluate(p, s, NULL, POLICY_ADMIN, 0, ret);
}
