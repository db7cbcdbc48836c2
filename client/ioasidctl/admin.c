/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bind, unbind, rescan, policy: io.ioasid.Admin. */
#include <stdio.h>
#include <stdlib.h>

#include "ioasid-internal.h"
#include "json-cleanup.h"
#include "macro.h"
#include "output.h"
#include "verbs.h"

int verb_bind(int argc, char **argv)
{
        _cleanup_(ioasid_freep) ioasid *c = NULL;
        int r, code;

        if (ctl_connect(&c, &code) < 0)
                return code;
        r = ioasid_bind(c, argv[1], argv[2]);
        return r < 0 ? ctl_fail(c, r, "Bind") : EXIT_OK;
}

int verb_unbind(int argc, char **argv)
{
        _cleanup_(ioasid_freep) ioasid *c = NULL;
        int r, code;

        if (ctl_connect(&c, &code) < 0)
                return code;
        r = ioasid_unbind(c, argv[1]);
        return r < 0 ? ctl_fail(c, r, "Unbind") : EXIT_OK;
}

int verb_rescan(int argc, char **argv)
{
        _cleanup_(ioasid_freep) ioasid *c = NULL;
        int r, code;

        if (ctl_connect(&c, &code) < 0)
                return code;
        r = ioasid_rescan(c);
        return r < 0 ? ctl_fail(c, r, "Rescan") : EXIT_OK;
}

static int policy_reload(ioasid *c)
{
        int rules = ioasid_reload_policy(c);

        if (rules < 0)
                return ctl_fail(c, rules, "ReloadPolicy");
        if (arg.json != JSON_OFF) {
                _cleanup_json_ json_object *o = json_object_new_object();

                if (!o)
                        return EXIT_FAILED;
                json_object_object_add(o, "rules", json_object_new_int(rules));
                json_print(o);
        } else
                printf("Policy reloaded: %d rules in force.\n", rules);
        return EXIT_OK;
}

static int policy_check(ioasid *c, int argc, char **argv)
{
        static const char *const header[] = { "ADDRESS", "ALLOWED", "RULE", "REASON" };
        _cleanup_json_ json_object *all = json_object_new_array();
        _cleanup_(tablep_free) table *t = NULL;
        bool refused = false;
        int r;

        if (!all || table_new(&t, header, ELEMENTSOF(header)) < 0)
                return EXIT_FAILED;
        for (int i = 0; i < argc; i++) {
                _cleanup_(ioasid_policy_verdict_freep) ioasid_policy_verdict *v = NULL;
                json_object *o;
                bool allowed;

                r = ioasid_check_policy(c, (uid_t)arg.uid, argv[i], &v);
                if (r < 0)
                        return ctl_fail(c, r, "CheckPolicy");
                allowed = ioasid_policy_verdict_allowed(v);
                refused |= !allowed;
                o = json_object_get(ioasid_policy_verdict_json(v));
                json_object_object_add(o, "address", json_object_new_string(argv[i]));
                json_object_array_add(all, o);
                if (table_add(t, argv[i], NULL) < 0 ||
                    table_add(t, allowed ? "yes" : "no", allowed ? ANSI_GREEN : ANSI_RED) < 0 ||
                    table_add(t, ioasid_policy_verdict_rule(v), NULL) < 0 ||
                    table_add(t, ioasid_policy_verdict_reason(v), NULL) < 0)
                        return EXIT_FAILED;
        }
        if (arg.json != JSON_OFF)
                json_print(all);
        else
                table_print(t);
        return refused ? EXIT_REFUSED : EXIT_OK;
}

int verb_policy(int argc, char **argv)
{
        _cleanup_(ioasid_freep) ioasid *c = NULL;
        int code;

        if (streq(argv[1], "check")) {
                if (argc < 3 || arg.uid < 0) {
                        fprintf(stderr, "ioasidctl: policy check needs --uid UID and at least "
                                        "one ADDRESS.\n");
                        return EXIT_USAGE;
                }
        } else if (!streq(argv[1], "reload") || argc != 2) {
                fprintf(stderr, "ioasidctl: policy takes \"check --uid UID ADDRESS...\" or "
                                "\"reload\".\n");
                return EXIT_USAGE;
        }
        if (ctl_connect(&c, &code) < 0)
                return code;
        return streq(argv[1], "reload") ? policy_reload(c) : policy_check(c, argc - 2, argv + 2);
}
