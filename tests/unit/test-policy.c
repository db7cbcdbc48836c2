/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The policy language: matching, verdicts, parsing and limits. */
#include <errno.h>

#include "policy-fixtures.h"

TEST(default_deny)
{
        _cleanup_(policy_freep) policy *p = policy_new();
        policy_verdict v;

        ASSERT_OK(policy_check(p, &bob, &nic0, POLICY_ACQUIRE, 1, &v));
        ASSERT_FALSE(v.allowed);
        ASSERT_TRUE(v.rule == NULL && v.file == NULL);
        ASSERT_STREQ(v.reason,
                     "no rule grants uid 1001 acquire on 0000:03:00.0 (8086:10d3, class 0x020000)");
        ASSERT_OK(policy_check_admin(p, &bob, &v));
        ASSERT_FALSE(v.allowed);
        ASSERT_STREQ(v.reason, "no rule grants uid 1001 admin");

        /* Unknown sysfs attributes still give a readable reason. */
        ASSERT_OK(policy_check(p, &bob, &(policy_device){ .address = "0000:00:1f.0" },
                               POLICY_MANAGED, 1, &v));
        ASSERT_STREQ(v.reason, "no rule grants uid 1001 managed on 0000:00:1f.0 (?:?, class ?)");
}

TEST(root_always_allowed)
{
        _cleanup_(policy_freep) policy *p = parse_ok(
                "{'rules': [{'name': 'nobody', 'subjects': {'any': true}, 'deny': ['acquire', "
                "'managed', 'admin']}]}");
        policy_verdict v;

        ASSERT_OK(policy_check(p, &root, &gpu, POLICY_ACQUIRE, 1000, &v));
        ASSERT_TRUE(v.allowed);
        ASSERT_TRUE(v.rule == NULL);
        ASSERT_STRCONTAINS(v.reason, "uid 0 (root) may do everything");
        ASSERT_OK(policy_check(p, &root, &gpu, POLICY_MANAGED, 1, &v));
        ASSERT_TRUE(v.allowed);
        ASSERT_OK(policy_check_admin(p, &root, &v));
        ASSERT_TRUE(v.allowed);
        ASSERT_FALSE(allowed(p, &alice, &gpu));
}

TEST(match_uids)
{
        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'uids': [5, 1000]}", ""), &alice, &nic0));
        ASSERT_FALSE(rule_grants(ACQUIRE_RULE("{'uids': [5, 1000]}", ""), &bob, &nic0));
}

TEST(match_users)
{
        policy_subject nameless = alice;

        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'users': ['bob', 'alice']}", ""), &alice, &nic0));
        ASSERT_FALSE(rule_grants(ACQUIRE_RULE("{'users': ['alice']}", ""), &bob, &nic0));
        nameless.user = NULL;
        ASSERT_FALSE(rule_grants(ACQUIRE_RULE("{'users': ['alice']}", ""), &nameless, &nic0));
}

TEST(match_groups_and_gids)
{
        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'groups': ['kvm']}", ""), &alice, &nic0));
        ASSERT_FALSE(rule_grants(ACQUIRE_RULE("{'groups': ['kvm']}", ""), &bob, &nic0));
        /* Supplementary and primary gids alike. */
        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'gids': [36]}", ""), &alice, &nic0));
        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'gids': [1001]}", ""), &bob, &nic0));
        ASSERT_FALSE(rule_grants(ACQUIRE_RULE("{'gids': [36]}", ""), &bob, &nic0));
}

TEST(match_units)
{
        policy_subject unitless = alice, escaped = alice;

        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'units': ['vm@*.service']}", ""), &alice, &nic0));
        ASSERT_FALSE(rule_grants(ACQUIRE_RULE("{'units': ['vm@*.service']}", ""), &bob, &nic0));
        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'units': ['x.service', 'vm@???.service']}", ""),
                                &alice, &nic0));
        unitless.unit = NULL;
        ASSERT_FALSE(rule_grants(ACQUIRE_RULE("{'units': ['*']}", ""), &unitless, &nic0));
        /* systemd escapes "-" in instance names as \x2d: the backslash is literal. */
        escaped.unit = "vm@a\\x2db.service";
        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'units': ['vm@a\\\\x2d*']}", ""), &escaped, &nic0));
}

TEST(subject_fields_and_across_or_within)
{
        const char *rule = ACQUIRE_RULE("{'uids': [1000, 1001], 'groups': ['kvm']}", "");

        ASSERT_TRUE(rule_grants(rule, &alice, &nic0));
        /* bob's uid is listed, but he is not in kvm. */
        ASSERT_FALSE(rule_grants(rule, &bob, &nic0));
        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'any': true}", ""), &bob, &nic0));
}

TEST(match_addresses)
{
        ASSERT_TRUE(rule_grants(
                ACQUIRE_RULE("{'any': true}", "'devices': {'addresses': ['0000:03:00.*']},"),
                &alice, &nic1));
        ASSERT_FALSE(rule_grants(
                ACQUIRE_RULE("{'any': true}", "'devices': {'addresses': ['0000:03:00.*']},"),
                &alice, &gpu));
        ASSERT_TRUE(rule_grants(
                ACQUIRE_RULE("{'any': true}", "'devices': {'addresses': ['0000:03:00.1']},"),
                &alice, &nic1));
        ASSERT_FALSE(rule_grants(
                ACQUIRE_RULE("{'any': true}", "'devices': {'addresses': ['0000:03:00.1']},"),
                &alice, &nic0));
        /* sysfs writes hex in lower case; a rule in upper case still means the same device. */
        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'any': true}",
                                             "'devices': {'addresses': ['0000:0[0-9]:00.[01]', "
                                             "'0000:AB:*']},"),
                                &alice, &nic1));
        ASSERT_TRUE(rule_grants(
                ACQUIRE_RULE("{'any': true}", "'devices': {'addresses': ['0000:AB:*']},"), &alice,
                &(policy_device){ "0000:ab:00.0", "0x1", "0x2", "0x020000" }));
}

TEST(match_ids)
{
        policy_device unknown_vendor = nic0;

        ASSERT_TRUE(rule_grants(
                ACQUIRE_RULE("{'any': true}", "'devices': {'ids': ['10de:1234', '8086:10D3']},"),
                &alice, &nic0));
        ASSERT_FALSE(
                rule_grants(ACQUIRE_RULE("{'any': true}", "'devices': {'ids': ['8086:10d4']},"),
                            &alice, &nic0));
        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'any': true}", "'devices': {'ids': ['8086:*']},"),
                                &alice, &nic0));
        ASSERT_FALSE(rule_grants(ACQUIRE_RULE("{'any': true}", "'devices': {'ids': ['8086:*']},"),
                                 &alice, &gpu));
        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'any': true}", "'devices': {'ids': ['*:a808']},"),
                                &alice, &nvme));
        unknown_vendor.vendor = "garbage";
        ASSERT_FALSE(rule_grants(ACQUIRE_RULE("{'any': true}", "'devices': {'ids': ['8086:*']},"),
                                 &alice, &unknown_vendor));
        ASSERT_TRUE(rule_grants(ACQUIRE_RULE("{'any': true}", "'devices': {'ids': ['*:10d3']},"),
                                &alice, &unknown_vendor));
}

TEST(match_classes)
{
        const char *nics = ACQUIRE_RULE("{'any': true}", "'devices': {'classes': ['0x0200*']},");
        policy_device classless = nic0;

        ASSERT_TRUE(rule_grants(nics, &alice, &nic0));
        ASSERT_FALSE(rule_grants(nics, &alice, &gpu));
        ASSERT_TRUE(
                rule_grants(ACQUIRE_RULE("{'any': true}", "'devices': {'classes': ['0x010802']},"),
                            &alice, &nvme));
        classless.class_ = NULL;
        ASSERT_FALSE(rule_grants(nics, &alice, &classless));
}

TEST(device_fields_and_across)
{
        const char *rule = ACQUIRE_RULE(
                "{'any': true}",
                "'devices': {'addresses': ['0000:0*'], 'ids': ['8086:*'], 'classes': ['0x02*']},");

        ASSERT_TRUE(rule_grants(rule, &alice, &nic0));
        ASSERT_FALSE(rule_grants(rule, &alice, &gpu));
        ASSERT_FALSE(rule_grants(
                rule, &alice, &(policy_device){ "0000:03:00.0", "0x8086", "0x10d3", "0x030000" }));
}

TEST(allowed_verdict_names_rule)
{
        _cleanup_(policy_freep) policy *p = parse_ok(
                "{'rules': [{'subjects': {'uids': [1]}, 'allow': ['acquire']},"
                "{'name': 'vm-users-nics', 'subjects': {'groups': ['kvm']}, 'devices': {'ids': "
                "['8086:10d3']}, 'allow': ['acquire']}]}");
        policy_verdict v;

        ASSERT_OK(policy_check(p, &alice, &nic1, POLICY_ACQUIRE, 1, &v));
        ASSERT_TRUE(v.allowed);
        ASSERT_STREQ(v.rule, "vm-users-nics");
        ASSERT_STREQ(v.file, "50-test.json");
        ASSERT_STREQ(v.reason, "rule \"vm-users-nics\" (50-test.json) grants uid 1000 acquire on "
                               "0000:03:00.1 (8086:10d3, class 0x020000)");
        /* An unnamed rule is reported by its index. */
        ASSERT_OK(policy_check(p, &(policy_subject){ .uid = 1 }, &gpu, POLICY_ACQUIRE, 1, &v));
        ASSERT_TRUE(v.allowed);
        ASSERT_STREQ(v.rule, "rules[0]");
        ASSERT_STRCONTAINS(v.reason, "rules[0] (50-test.json) grants uid 1 acquire");
        /* managed is its own action. */
        ASSERT_OK(policy_check(p, &alice, &nic1, POLICY_MANAGED, 1, &v));
        ASSERT_FALSE(v.allowed);
}

TEST(deny_wins_across_files)
{
        _cleanup_(policy_freep) policy *p = policy_new();
        _cleanup_free_ char *error = NULL;
        policy_verdict v;
        policy_subject nameless = alice;

        /* The allow comes first in file order: the deny still wins. */
        ASSERT_OK(parse(p, "10-allow.json",
                        "{'rules': [{'name': 'everything', 'subjects': {'groups': ['kvm']}, "
                        "'allow': ['acquire', 'managed']}]}",
                        &error));
        ASSERT_OK(parse(p, "90-deny.json",
                        "{'rules': [{'name': 'no-gpus', 'subjects': {'any': true}, 'devices': "
                        "{'classes': ['0x03*']}, 'deny': ['acquire']},"
                        "{'name': 'not-alice', 'subjects': {'users': ['alice']}, 'devices': "
                        "{'addresses': ['0000:02:*']}, 'deny': ['acquire']}]}",
                        &error));
        ASSERT_EQ(policy_n_rules(p), 3);

        ASSERT_OK(policy_check(p, &alice, &gpu, POLICY_ACQUIRE, 1, &v));
        ASSERT_FALSE(v.allowed);
        ASSERT_STREQ(v.rule, "no-gpus");
        ASSERT_STREQ(v.file, "90-deny.json");
        ASSERT_STREQ(v.reason, "rule \"no-gpus\" (90-deny.json) denies acquire on 0000:01:00.0 "
                               "(10de:2204, class 0x030000) to uid 1000");
        /* The deny names acquire only. */
        ASSERT_OK(policy_check(p, &alice, &gpu, POLICY_MANAGED, 1, &v));
        ASSERT_TRUE(v.allowed);
        ASSERT_STREQ(v.rule, "everything");
        ASSERT_TRUE(allowed(p, &alice, &nic0));
        ASSERT_FALSE(allowed(p, &alice, &nvme));

        /* A user name that did not resolve cannot escape a deny that names users. */
        nameless.user = NULL;
        ASSERT_FALSE(allowed(p, &nameless, &nvme));
        ASSERT_TRUE(allowed(p, &nameless, &nic0));
}

TEST(deny_fails_closed_on_unknown_attributes)
{
        _cleanup_(policy_freep) policy *p = parse_ok(
                "{'rules': [{'name': 'all', 'subjects': {'any': true}, 'allow': ['acquire']},"
                "{'name': 'no-gpus', 'subjects': {'any': true}, 'devices': {'classes': "
                "['0x03*'], 'ids': ['10de:*']}, 'deny': ['acquire']},"
                "{'name': 'no-scopes', 'subjects': {'units': ['*.scope']}, 'deny': ['acquire']}]}");
        policy_device unknown = gpu;
        policy_subject no_unit = alice;

        ASSERT_TRUE(allowed(p, &alice, &nic0));
        ASSERT_FALSE(allowed(p, &alice, &gpu));
        unknown.class_ = NULL;
        unknown.vendor = NULL;
        ASSERT_FALSE(allowed(p, &alice, &unknown));
        ASSERT_FALSE(allowed(p, &bob, &nic0));
        no_unit.unit = NULL;
        ASSERT_FALSE(allowed(p, &no_unit, &nic0));
}

TEST(max_devices)
{
        _cleanup_(policy_freep) policy *p = parse_ok(
                "{'rules': [{'name': 'vm-users-nics', 'subjects': {'groups': ['kvm']}, "
                "'devices': {'classes': ['0x0200*']}, 'allow': ['acquire'], 'maxDevices': 4},"
                "{'name': 'alice-more', 'subjects': {'users': ['alice']}, 'devices': {'ids': "
                "['8086:10d3']}, 'allow': ['acquire'], 'maxDevices': 6}]}");
        policy_verdict v;
        policy_subject carol = alice;

        ASSERT_OK(policy_check(p, &alice, &nic0, POLICY_ACQUIRE, 4, &v));
        ASSERT_TRUE(v.allowed);
        ASSERT_STREQ(v.rule, "vm-users-nics");
        /* Over the first rule's limit: the second, within its own, grants. */
        ASSERT_OK(policy_check(p, &alice, &nic0, POLICY_ACQUIRE, 5, &v));
        ASSERT_TRUE(v.allowed);
        ASSERT_STREQ(v.rule, "alice-more");
        ASSERT_OK(policy_check(p, &alice, &nic0, POLICY_ACQUIRE, 7, &v));
        ASSERT_FALSE(v.allowed);
        ASSERT_STREQ(v.rule, "vm-users-nics");
        ASSERT_STREQ(v.reason, "rule \"vm-users-nics\" (50-test.json) allows at most 4 devices; "
                               "uid 1000 would hold 7");
        carol.uid = 1002;
        carol.user = "carol";
        ASSERT_OK(policy_check(p, &carol, &nic0, POLICY_ACQUIRE, 5, &v));
        ASSERT_FALSE(v.allowed);
        ASSERT_STREQ(v.reason, "rule \"vm-users-nics\" (50-test.json) allows at most 4 devices; "
                               "uid 1002 would hold 5");
}

TEST(group_check_names_offending_device)
{
        _cleanup_(policy_freep) policy *p = parse_ok(
                "{'rules': [{'name': 'nic0-only', 'subjects': {'users': ['alice']}, 'devices': "
                "{'addresses': ['0000:03:00.0']}, 'allow': ['acquire']},"
                "{'name': 'no-gpus', 'subjects': {'any': true}, 'devices': {'classes': "
                "['0x03*']}, 'deny': ['acquire']},"
                "{'name': 'bob-all', 'subjects': {'users': ['bob']}, 'allow': ['acquire']}]}");
        const policy_device nic_group[] = { nic0, nic1 };
        const policy_device gpu_group[] = { nic0, gpu };
        policy_verdict v;

        ASSERT_OK(policy_check_group(p, &alice, &nic0, nic_group, 2, POLICY_ACQUIRE, 1, &v));
        ASSERT_FALSE(v.allowed);
        ASSERT_TRUE(v.rule == NULL);
        ASSERT_STREQ(v.reason, "0000:03:00.1 is in the same IOMMU group as 0000:03:00.0: no rule "
                               "grants uid 1000 acquire on 0000:03:00.1 (8086:10d3, class "
                               "0x020000)");
        /* The requested device alone in its group: members may include it. */
        ASSERT_OK(policy_check_group(p, &alice, &nic0, &nic0, 1, POLICY_ACQUIRE, 1, &v));
        ASSERT_TRUE(v.allowed);
        ASSERT_STREQ(v.rule, "nic0-only");

        ASSERT_OK(policy_check_group(p, &bob, &nic0, nic_group, 2, POLICY_ACQUIRE, 2, &v));
        ASSERT_TRUE(v.allowed);
        ASSERT_STREQ(v.rule, "bob-all");
        ASSERT_OK(policy_check_group(p, &bob, &nic0, gpu_group, 2, POLICY_ACQUIRE, 2, &v));
        ASSERT_FALSE(v.allowed);
        ASSERT_STREQ(v.rule, "no-gpus");
        ASSERT_STREQ(v.reason, "0000:01:00.0 is in the same IOMMU group as 0000:03:00.0: rule "
                               "\"no-gpus\" (50-test.json) denies acquire on 0000:01:00.0 "
                               "(10de:2204, class 0x030000) to uid 1001");
        /* A refused request is refused for itself first. */
        ASSERT_OK(policy_check_group(p, &alice, &nic1, nic_group, 2, POLICY_ACQUIRE, 1, &v));
        ASSERT_FALSE(v.allowed);
        ASSERT_STRCONTAINS(v.reason, "no rule grants uid 1000 acquire on 0000:03:00.1");

        ASSERT_ERROR(policy_check_group(p, &bob, &nic0, NULL, 2, POLICY_ACQUIRE, 1, &v), EINVAL);
}

TEST(admin)
{
        _cleanup_(policy_freep) policy *p = parse_ok(
                "{'rules': [{'name': 'admins', 'subjects': {'groups': ['kvm']}, 'allow': "
                "['admin']},{'name': 'not-vm-units', 'subjects': {'units': ['vm@*']}, 'deny': "
                "['admin']}]}");
        policy_subject shell = alice;
        policy_verdict v;

        ASSERT_OK(policy_check_admin(p, &alice, &v));
        ASSERT_FALSE(v.allowed);
        ASSERT_STREQ(v.reason, "rule \"not-vm-units\" (50-test.json) denies admin to uid 1000");
        shell.unit = "session-1.scope";
        ASSERT_OK(policy_check_admin(p, &shell, &v));
        ASSERT_TRUE(v.allowed);
        ASSERT_STREQ(v.rule, "admins");
        ASSERT_STREQ(v.reason, "rule \"admins\" (50-test.json) grants uid 1000 admin");
        ASSERT_OK(policy_check_admin(p, &bob, &v));
        ASSERT_FALSE(v.allowed);
        /* admin grants no device. */
        ASSERT_FALSE(allowed(p, &shell, &nic0));
        ASSERT_ERROR(policy_check(p, &shell, &nic0, POLICY_ADMIN, 1, &v), EINVAL);
}

TEST(parse_errors)
{
        static const struct {
                const char *text;
                int error;
                const char *message;
        } cases[] = {
                { "{'rules': [{'name': 'vm-users-nics', 'subjects': {'any': true}, 'devices': "
                  "{'ids': ['8086:10d3', '8086-10d3']}, 'allow': ['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"vm-users-nics\": devices.ids[1]: \"8086-10d3\" is not "
                  "vendor:device" },
                { "{'rules': [{'subjects': {'any': true}, 'allow': ['acquire']}, {'subjects': "
                  "{'uids': ['1000']}, 'allow': ['acquire']}]}",
                  EINVAL, "50-vms.json: rules[1]: subjects.uids[0]: expected an integer" },
                { "{'rules': [{'name': 'a', 'subjects': {'uids': [1.5]}, 'allow': ['acquire']}]}",
                  EINVAL, "50-vms.json: rule \"a\": subjects.uids[0]: expected an integer" },
                { "{'rules': [{'name': 'a', 'subjects': {'uids': [-1]}, 'allow': ['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": subjects.uids[0]: -1 is out of range (0 to "
                  "4294967294)" },
                { "{'rules': [{'name': 'a', 'subjects': {'gids': [99999999999999999999]}, "
                  "'allow': ['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": subjects.gids[0]: out of range (0 to 4294967294)" },
                { "{'rules': [{'name': 'a', 'allow': ['acquire']}]}", EINVAL,
                  "50-vms.json: rule \"a\": subjects: missing; a rule for everyone says "
                  "\"subjects\": {\"any\": true}" },
                { "{'rules': [{'name': 'a', 'subjects': {}, 'allow': ['acquire']}]}", EINVAL,
                  "50-vms.json: rule \"a\": subjects: empty; name who the rule is for, or write "
                  "{\"any\": true} for everyone" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': false}, 'allow': ['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": subjects.any: must be true (leave it out otherwise)" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true, 'uids': [1]}, 'allow': "
                  "['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": subjects.any: cannot be combined with other "
                  "subjects" },
                { "{'rules': [{'name': 'a', 'subjects': {'users': []}, 'allow': ['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": subjects.users: must not be empty (leave the key "
                  "out)" },
                { "{'rules': [{'name': 'a', 'subjects': {'users': '1000'}, 'allow': "
                  "['acquire']}]}",
                  EINVAL, "50-vms.json: rule \"a\": subjects.users: expected an array" },
                { "{'rules': [{'name': 'a', 'subjects': {'users': ['1000']}, 'allow': "
                  "['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": subjects.users[0]: \"1000\" is a number; uids go in "
                  "\"uids\"" },
                { "{'rules': [{'name': 'a', 'subjects': {'groups': ['']}, 'allow': "
                  "['acquire']}]}",
                  EINVAL, "50-vms.json: rule \"a\": subjects.groups[0]: must not be empty" },
                { "{'rules': [{'name': 'a', 'subjects': {'units': ['vm@$x']}, 'allow': "
                  "['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": subjects.units[0]: \"vm@$x\" is not a unit name "
                  "pattern" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true}, 'devices': {'addresses': "
                  "['03:00.0']}, 'allow': ['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": devices.addresses[0]: \"03:00.0\" is not a PCI "
                  "address pattern (like \"0000:03:00.*\")" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true}, 'devices': {'classes': "
                  "['0200*']}, 'allow': ['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": devices.classes[0]: \"0200*\" is not a class "
                  "pattern (like \"0x0200*\")" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true}, 'devices': {}, 'allow': "
                  "['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": devices: empty; leave it out to match every "
                  "device" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true}, 'allow': ['aquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": allow[0]: unknown action \"aquire\" (expected "
                  "acquire, managed or admin)" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true}, 'allow': ['acquire', "
                  "'acquire']}]}",
                  EINVAL, "50-vms.json: rule \"a\": allow[1]: \"acquire\" is listed twice" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true}}]}", EINVAL,
                  "50-vms.json: rule \"a\": needs \"allow\" or \"deny\"" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true}, 'allow': ['acquire'], "
                  "'deny': ['managed', 'acquire']}]}",
                  EINVAL, "50-vms.json: rule \"a\": deny: \"acquire\" is also in allow" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true}, 'devices': {'ids': "
                  "['8086:*']}, 'allow': ['admin']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": allow: \"admin\" is not per device; put it in a rule "
                  "without \"devices\"" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true}, 'allow': ['acquire'], "
                  "'maxDevices': 0}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": maxDevices: 0 is out of range (1 to 2147483647)" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true}, 'allow': ['acquire'], "
                  "'maxDevices': '4'}]}",
                  EINVAL, "50-vms.json: rule \"a\": maxDevices: expected an integer" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true}, 'deny': ['acquire'], "
                  "'maxDevices': 4}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": maxDevices: only limits rules that allow acquire or "
                  "managed" },
                { "{'rules': [{'name': 'a b', 'subjects': {'any': true}, 'allow': ['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rules[0]: name: \"a b\" may hold only letters, digits and "
                  "\"-_.:@\"" },
                { "{'rules': [{'name': 7, 'subjects': {'any': true}, 'allow': ['acquire']}]}",
                  EINVAL, "50-vms.json: rules[0]: name: expected a string" },
                { "{'rules': [{'name': 'a', 'subjects': {'any': true}, 'allow': ['acquire']}, "
                  "{'name': 'a', 'subjects': {'any': true}, 'allow': ['managed']}]}",
                  EINVAL, "50-vms.json: rule \"a\": name: already used in 50-vms.json" },
                { "{'rules': [{'name': 'a', 'subjects': {'users': ['al\\u0001ice']}, 'allow': "
                  "['acquire']}]}",
                  EINVAL,
                  "50-vms.json: rule \"a\": subjects.users[0]: contains a control character" },
                { "{'rules': [{'name': 'a', 'subjects': {'users': ['al\\u0000ice']}, 'allow': "
                  "['acquire']}]}",
                  EINVAL, "50-vms.json: contains a NUL character" },
                { "{'rules': ['x']}", EINVAL, "50-vms.json: rules[0]: expected an object" },
                { "{'rules': {}}", EINVAL, "50-vms.json: rules: expected an array" },
                { "{}", EINVAL, "50-vms.json: rules: missing" },
                { "[]", EINVAL, "50-vms.json: expected a JSON object with \"rules\"" },
                { "", EINVAL, "50-vms.json: line 1: unexpected end of input" },
                { "{'rules': [\n  {'name': 'a',,}]}", EINVAL,
                  "50-vms.json: line 2, column 16: quoted object property name expected" },
                { "{'rules': []} {}", EINVAL,
                  "50-vms.json: line 1, column 15: unexpected character" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                parse_fails(cases[i].text, cases[i].error, cases[i].message);
}

TEST(unknown_keys)
{
        parse_fails("{'rules': [], 'rulez': []}", EINVAL,
                    "50-vms.json: unknown key \"rulez\" (expected one of: rules, description)");
        parse_fails("{'rules': [{'name': 'a', 'subject': {'any': true}, 'allow': ['acquire']}]}",
                    EINVAL,
                    "50-vms.json: rule \"a\": unknown key \"subject\" (expected one of: name, "
                    "description, subjects, devices, allow, deny, maxDevices, maxLockedMemory)");
        parse_fails("{'rules': [{'subjects': {'uid': [1]}, 'allow': ['acquire']}]}", EINVAL,
                    "50-vms.json: rules[0]: subjects: unknown key \"uid\" (expected one of: any, "
                    "uids, users, groups, gids, units)");
        parse_fails("{'rules': [{'name': 'a', 'subjects': {'any': true}, 'devices': {'class': "
                    "['0x03*']}, 'allow': ['acquire']}]}",
                    EINVAL,
                    "50-vms.json: rule \"a\": devices: unknown key \"class\" (expected one of: "
                    "addresses, ids, classes)");
        /* A key that cannot be printed as is comes out escaped. */
        parse_fails("{'rules': [], 'a\\u0001\\'': 1}", EINVAL,
                    "50-vms.json: unknown key \"a\\x01\\\"\" (expected one of: rules, "
                    "description)");
}

/* The rule's name borrows from the policy: it is copied out before the policy goes. */
static char memlock_rule[POLICY_REASON_MAX];

static uint64_t memlock_max(const char *text, const policy_subject *s, const char **ret_rule)
{
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        const char *rule = "unset";
        uint64_t max = 1;

        ASSERT_OK(policy_locked_memory_max(p, s, &max, &rule));
        snprintf(memlock_rule, sizeof(memlock_rule), "%s", rule ?: "");
        *ret_rule = rule ? memlock_rule : NULL;
        return max;
}

TEST(locked_memory)
{
        static const struct {
                const char *size;
                uint64_t bytes;
        } sizes[] = {
                { "1", 1 },
                { "65536", 65536 },
                { "64K", 64u << 10 },
                { "'64K'", 64u << 10 },
                { "'512m'", 512u << 20 },
                { "'4G'", UINT64_C(4) << 30 },
                { "'2T'", UINT64_C(2) << 40 },
                { "'4194304T'", UINT64_C(1) << 62 },
        };
        const char *rule = "none";

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_free_ char *text = NULL;
                const char *size = sizes[i].size;

                /* 64K unquoted is not JSON: skip it, its quoted twin follows. */
                if (streq(size, "64K"))
                        continue;
                ASSERT_TRUE(asprintf(&text,
                                     "{'rules': [{'name': 'm', 'subjects': {'any': true}, "
                                     "'allow': ['acquire'], 'maxLockedMemory': %s}]}",
                                     size) > 0);
                ASSERT_EQ(memlock_max(text, &alice, &rule), sizes[i].bytes);
                ASSERT_STREQ(rule, "m");
        }

        /* The largest of the rules that allow the subject acquire, whatever their devices; a
         * rule for someone else, or one that does not allow acquire, gives nothing. */
        const char *text = "{'rules': ["
                           "{'name': 'small', 'subjects': {'users': ['alice']}, 'allow': "
                           "['acquire'], 'maxLockedMemory': '256M'},"
                           "{'name': 'big', 'subjects': {'groups': ['kvm']}, 'devices': {'ids': "
                           "['8086:*']}, 'allow': ['acquire'], 'maxLockedMemory': '2G'},"
                           "{'name': 'bobs', 'subjects': {'users': ['bob']}, 'allow': "
                           "['acquire']},"
                           "{'name': 'huge', 'subjects': {'users': ['bob']}, 'allow': "
                           "['acquire'], 'deny': ['managed'], 'maxLockedMemory': '1T'},"
                           "{'name': 'other', 'subjects': {'uids': [4242]}, 'allow': "
                           "['acquire'], 'maxLockedMemory': '8T'}]}";
        ASSERT_EQ(memlock_max(text, &alice, &rule), UINT64_C(2) << 30);
        ASSERT_STREQ(rule, "big");
        ASSERT_EQ(memlock_max(text, &bob, &rule), UINT64_C(1) << 40);
        ASSERT_STREQ(rule, "huge");
        ASSERT_EQ(memlock_max(text, &root, &rule), UINT64_MAX);
        ASSERT_TRUE(rule == NULL);
        ASSERT_EQ(memlock_max("{'rules': [{'subjects': {'any': true}, 'allow': ['acquire']}]}",
                              &alice, &rule),
                  0);
        ASSERT_TRUE(rule == NULL);

        parse_fails("{'rules': [{'name': 'a', 'subjects': {'any': true}, 'allow': ['managed'], "
                    "'maxLockedMemory': '1G'}]}",
                    EINVAL,
                    "50-vms.json: rule \"a\": maxLockedMemory: only in rules that allow acquire");
        for (size_t i = 0; i < 7; i++) {
                static const char *const bad[] = { "'1.5G'", "'64 M'",     "'M'", "'-1'",
                                                   "'64KB'", "'4194305T'", "0" };
                _cleanup_free_ char *t = NULL;

                ASSERT_TRUE(asprintf(&t,
                                     "{'rules': [{'name': 'a', 'subjects': {'any': true}, "
                                     "'allow': ['acquire'], 'maxLockedMemory': %s}]}",
                                     bad[i]) > 0);
                parse_fails(t, EINVAL,
                            streq(bad[i], "0")
                                    ? "50-vms.json: rule \"a\": maxLockedMemory: 0 is out of "
                                      "range (1 to 4611686018427387904)"
                                    : NULL);
        }
}

TEST(parse_accepts)
{
        _cleanup_(policy_freep) policy *p = parse_ok(
                "{'description': 'test', 'rules': [{'name': 'x-1_2.3:@y', 'description': 'free "
                "text', 'subjects': {'uids': [0, 4294967294], 'users': ['alice'], 'groups': "
                "['kvm'], 'gids': [36], 'units': ['vm@*.service', 'a\\\\x2d[!b]?.scope']}, "
                "'devices': {'addresses': ['10000:e1:1f.7', '0000:0[0-3]:*.?'], 'ids': "
                "['8086:10d3', '*:*'], 'classes': ['0x020000', '0X03*']}, 'allow': "
                "['acquire', 'managed'], 'maxDevices': 2147483647}, "
                "{'subjects': {'any': true}, 'allow': ['acquire'], 'deny': ['managed', "
                "'admin']}]}");

        ASSERT_EQ(policy_n_rules(p), 2);
        /* Trailing white space, an empty rule list. */
        policy_free(parse_ok("{'rules': []}\n\n"));
}

TEST(parse_leaves_policy_unchanged_on_error)
{
        _cleanup_(policy_freep) policy *p = parse_ok(
                "{'rules': [{'name': 'a', 'subjects': {'any': true}, 'allow': ['acquire']}]}");
        _cleanup_free_ char *error = NULL;

        ASSERT_ERROR(parse(p, "60-b.json",
                           "{'rules': [{'name': 'b', 'subjects': {'any': true}, 'allow': "
                           "['acquire']}, {'name': 'a', 'subjects': {'any': true}, 'allow': "
                           "['acquire']}]}",
                           &error),
                     EINVAL);
        ASSERT_STREQ(error, "60-b.json: rule \"a\": name: already used in 50-test.json");
        ASSERT_EQ(policy_n_rules(p), 1);
        /* No message wanted: still refused. */
        ASSERT_ERROR(parse(p, "60-b.json", "{", NULL), EINVAL);
        ASSERT_ERROR(policy_parse(NULL, 1, "x.json", p, NULL), EINVAL);
        ASSERT_EQ(policy_n_rules(p), 1);
}

TEST(limits)
{
        _cleanup_(policy_freep) policy *p = policy_new();
        _cleanup_free_ char *error = NULL, *big = NULL;
        /* Big enough for 4097 rules, and for a file one byte over the size limit. */
        size_t n = POLICY_RULES_MAX + 1, o = 0, size = POLICY_FILE_SIZE_MAX + 1;
        const char raw_nul[] = "{\"rules\": [\0]}";

        big = calloc(1, size);
        ASSERT_TRUE(big);
        o += (size_t)snprintf(big + o, size - o, "{\"rules\": [");
        for (size_t i = 0; i < n; i++)
                o += (size_t)snprintf(big + o, size - o,
                                      "%s{\"subjects\": {\"uids\": [%zu]}, \"deny\": [\"admin\"]}",
                                      i > 0 ? "," : "", i);
        o += (size_t)snprintf(big + o, size - o, "]}");
        ASSERT_ERROR(policy_parse(big, o, "big.json", p, &error), E2BIG);
        ASSERT_STREQ(error, "big.json: too many rules (at most 4096 in all files)");
        ASSERT_EQ(policy_n_rules(p), 0);
        free(error);
        error = NULL;

        ASSERT_ERROR(policy_parse(big, POLICY_FILE_SIZE_MAX + 1, "big.json", p, &error), E2BIG);
        ASSERT_STREQ(error, "big.json: larger than 1048576 bytes");
        free(error);
        error = NULL;

        ASSERT_ERROR(policy_parse(raw_nul, sizeof(raw_nul) - 1, "nul.json", p, &error), EINVAL);
        ASSERT_STREQ(error, "nul.json: contains a NUL character");
        free(error);
        error = NULL;

        /* An escaped backslash before "u0000" is no NUL. */
        policy_free(parse_ok("{'rules': [], 'description': 'C:\\\\u0000'}"));
}

TEST(subject_needs)
{
        _cleanup_(policy_freep) policy *p = NULL;

        ASSERT_EQ(policy_subject_needs(NULL), 0u);
        p = parse_ok("{'rules': [" ACQUIRE_RULE("{'uids': [1000], 'gids': [36]}",
                                                "'devices': {'classes': ['0x020000']},") "]}");
        ASSERT_EQ(policy_subject_needs(p), 0u);
        /* A policy of ids decides as well without the names. */
        ASSERT_TRUE(allowed(p, &(policy_subject){ .uid = 1000, .gids = alice_gids, .n_gids = 2 },
                            &nic0));
        p = policy_free(p);
        p = parse_ok("{'rules': [" ACQUIRE_RULE(
                "{'users': ['alice']}",
                "") ", {'name': 'd', "
                    "'subjects': {'units': ['vm@*.service']}, 'deny': ['acquire']}]}");
        ASSERT_EQ(policy_subject_needs(p), (unsigned)(POLICY_NEEDS_USER | POLICY_NEEDS_UNIT));
        p = policy_free(p);
        p = parse_ok("{'rules': [" ACQUIRE_RULE("{'groups': ['kvm']}", "") "]}");
        ASSERT_EQ(policy_subject_needs(p), (unsigned)POLICY_NEEDS_GROUP_NAMES);
        /* A second file adds its rules' needs; one that fails to parse adds none. */
        ASSERT_ERROR(parse(p, "60-bad.json", "{'rules': [{'subjects': {'users': ['x']}}]}", NULL),
                     EINVAL);
        ASSERT_EQ(policy_subject_needs(p), (unsigned)POLICY_NEEDS_GROUP_NAMES);
        ASSERT_OK(parse(p, "70-units.json",
                        "{'rules': [{'name': 'u', 'subjects': {'units': ['vm@*.service']}, "
                        "'allow': ['acquire']}]}",
                        NULL));
        ASSERT_EQ(policy_subject_needs(p),
                  (unsigned)(POLICY_NEEDS_GROUP_NAMES | POLICY_NEEDS_UNIT));
}

int main(void)
{
        RUN(default_deny);
        RUN(root_always_allowed);
        RUN(match_uids);
        RUN(match_users);
        RUN(match_groups_and_gids);
        RUN(match_units);
        RUN(subject_fields_and_across_or_within);
        RUN(match_addresses);
        RUN(match_ids);
        RUN(match_classes);
        RUN(device_fields_and_across);
        RUN(allowed_verdict_names_rule);
        RUN(deny_wins_across_files);
        RUN(deny_fails_closed_on_unknown_attributes);
        RUN(max_devices);
        RUN(group_check_names_offending_device);
        RUN(admin);
        RUN(parse_errors);
        RUN(unknown_keys);
        RUN(locked_memory);
        RUN(parse_accepts);
        RUN(parse_leaves_policy_unchanged_on_error);
        RUN(limits);
        RUN(subject_needs);
        return 0;
}
