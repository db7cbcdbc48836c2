/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The parser: policy JSON to policy_rule. Strict on purpose: a typo in a policy either grants
 * what nobody meant or fails to deny what somebody meant, so unknown keys, wrong types, empty
 * lists and patterns that cannot match are errors naming file, rule and field. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json-cleanup.h"
#include "policy-internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free);

typedef struct parse_ctx {
        const char *file;
        char rule[POLICY_NAME_MAX + 16]; /* 'rule "x"' or "rules[3]"; empty outside a rule */
        char *error;
} parse_ctx;

static const char *const top_keys[] = { "rules", "description", NULL };
static const char *const rule_keys[] = {
        "name", "description", "subjects",        "devices", "allow",
        "deny", "maxDevices",  "maxLockedMemory", NULL,
};
static const char *const subject_keys[] = {
        "any", "uids", "users", "groups", "gids", "units", NULL
};
static const char *const device_keys[] = { "addresses", "ids", "classes", NULL };

/* Text from the file goes into messages quoted, with control characters escaped and long
 * values cut, so a message is always one readable line. */
static void quote(char *buf, size_t size, const char *s)
{
        size_t o = 0;

        buf[o++] = '"';
        for (; *s && o + 8 < size; s++) {
                unsigned char ch = (unsigned char)*s;

                if (ch < 0x20 || ch == 0x7f)
                        o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
                else if (ch == '"' || ch == '\\')
                        o += (size_t)snprintf(buf + o, size - o, "\\%c", ch);
                else
                        buf[o++] = (char)ch;
        }
        if (*s)
                o += (size_t)snprintf(buf + o, size - o, "...");
        buf[o++] = '"';
        buf[o] = 0;
}

_printf_(3, 4) static int parse_fail(parse_ctx *c, int r, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        free(c->error);
        if (asprintf(&c->error, "%s: %s%s%s", c->file, c->rule, c->rule[0] ? ": " : "", msg) < 0)
                c->error = NULL;
        return r;
}

static bool in_set(const char *s, const char *const set[])
{
        for (size_t i = 0; set[i]; i++)
                if (streq(s, set[i]))
                        return true;
        return false;
}

static int check_keys(parse_ctx *c, json_object *o, const char *where, const char *const known[])
{
        json_object_object_foreach (o, key, value) {
                char q[80], expected[128] = "";

                (void)value;
                if (in_set(key, known))
                        continue;
                quote(q, sizeof(q), key);
                for (size_t i = 0, o2 = 0; known[i] && o2 < sizeof(expected); i++)
                        o2 += (size_t)snprintf(expected + o2, sizeof(expected) - o2, "%s%s",
                                               i > 0 ? ", " : "", known[i]);
                return parse_fail(c, -EINVAL, "%s%sunknown key %s (expected one of: %s)",
                                  where ?: "", where ? ": " : "", q, expected);
        }
        return 0;
}

static bool is_hex(char ch)
{
        return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool has_glob(const char *s)
{
        return strpbrk(s, "*?[") != NULL;
}

static bool only_chars(const char *s, const char *extra, bool hex_only)
{
        for (; *s; s++) {
                bool alnum = (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
                             (*s >= 'A' && *s <= 'Z');
                if (hex_only ? is_hex(*s) : alnum)
                        continue;
                if (!strchr(extra, *s))
                        return false;
        }
        return true;
}

static bool all_digits(const char *s)
{
        return strspn(s, "0123456789") == strlen(s);
}

/* Linux prints the PCI domain as %04x, and wider for VMD domains. */
static bool address_is_valid(const char *s)
{
        size_t n = strspn(s, "0123456789abcdefABCDEF");

        if (n < 4 || n > 8 || s[n] != ':')
                return false;
        s += n + 1;
        if (!is_hex(s[0]) || !is_hex(s[1]) || s[2] != ':' || !is_hex(s[3]) || !is_hex(s[4]) ||
            s[5] != '.' || s[6] < '0' || s[6] > '7' || s[7] != 0)
                return false;
        return s[3] <= '1';
}

/* A check returns NULL when s is fine, else the complaint that follows the quoted value. */
typedef const char *(*string_check)(const char *s);

static const char *check_user(const char *s)
{
        return all_digits(s) ? "is a number; uids go in \"uids\"" : NULL;
}

static const char *check_group(const char *s)
{
        return all_digits(s) ? "is a number; gids go in \"gids\"" : NULL;
}

static const char *check_unit(const char *s)
{
        return only_chars(s, ":-_.\\@*?[]!^", false) ? NULL : "is not a unit name pattern";
}

static const char *check_address(const char *s)
{
        static const char *const bad = "is not a PCI address pattern (like \"0000:03:00.*\")";

        if (!only_chars(s, ":.*?[]!-", true))
                return bad;
        if (!has_glob(s) && !address_is_valid(s))
                return bad;
        return NULL;
}

static const char *check_class(const char *s)
{
        static const char *const bad = "is not a class pattern (like \"0x0200*\")";

        if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !only_chars(s + 2, "*?[]!-", true))
                return bad;
        if (!has_glob(s) && strlen(s + 2) != 6)
                return bad;
        return NULL;
}

static const char *check_name(const char *s)
{
        if (strlen(s) > POLICY_NAME_MAX)
                return "is longer than 128 characters";
        if (!only_chars(s, "-_.:@", false))
                return "may hold only letters, digits and \"-_.:@\"";
        return NULL;
}

static int parse_string(parse_ctx *c, json_object *v, const char *field, const char **ret)
{
        const char *s;
        size_t len;

        if (!json_object_is_type(v, json_type_string))
                return parse_fail(c, -EINVAL, "%s: expected a string", field);
        s = json_object_get_string(v);
        len = (size_t)json_object_get_string_len(v);
        if (strlen(s) != len)
                return parse_fail(c, -EINVAL, "%s: contains a NUL character", field);
        if (len == 0)
                return parse_fail(c, -EINVAL, "%s: must not be empty", field);
        if (len > POLICY_STRING_MAX)
                return parse_fail(c, -EINVAL, "%s: longer than %u bytes", field, POLICY_STRING_MAX);
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return parse_fail(c, -EINVAL, "%s: contains a control character", field);
        *ret = s;
        return 0;
}

static int parse_array(parse_ctx *c, json_object *v, const char *field, size_t *ret_n)
{
        size_t n;

        if (!json_object_is_type(v, json_type_array))
                return parse_fail(c, -EINVAL, "%s: expected an array", field);
        n = json_object_array_length(v);
        if (n == 0)
                return parse_fail(c, -EINVAL, "%s: must not be empty (leave the key out)", field);
        if (n > POLICY_LIST_MAX)
                return parse_fail(c, -E2BIG, "%s: more than %u entries", field, POLICY_LIST_MAX);
        *ret_n = n;
        return 0;
}

static int parse_strv(parse_ctx *c, json_object *v, const char *field, string_check check,
                      char ***ret, size_t *ret_n)
{
        _cleanup_free_ char **strv = NULL;
        size_t n, done = 0;
        int r;

        r = parse_array(c, v, field, &n);
        if (r < 0)
                return r;
        strv = calloc(n, sizeof(char *));
        if (!strv)
                return -ENOMEM;

        for (; done < n; done++) {
                char elem[64], q[80];
                const char *s, *problem;

                (void)snprintf(elem, sizeof(elem), "%s[%zu]", field, done);
                r = parse_string(c, json_object_array_get_idx(v, done), elem, &s);
                if (r < 0)
                        break;
                problem = check ? check(s) : NULL;
                if (problem) {
                        quote(q, sizeof(q), s);
                        r = parse_fail(c, -EINVAL, "%s: %s %s", elem, q, problem);
                        break;
                }
                strv[done] = strdup(s);
                if (!strv[done]) {
                        r = -ENOMEM;
                        break;
                }
        }
        if (r < 0) {
                for (size_t i = 0; i < done; i++)
                        free(strv[i]);
                return r;
        }
        *ret = TAKE_PTR(strv);
        *ret_n = n;
        return 0;
}

static int parse_u32(parse_ctx *c, json_object *v, const char *field, int64_t min, int64_t max,
                     int64_t *ret)
{
        int64_t i;

        /* get_int64() converts strings and doubles: only a JSON integer is one. */
        if (!json_object_is_type(v, json_type_int))
                return parse_fail(c, -EINVAL, "%s: expected an integer", field);
        i = json_object_get_int64(v);
        /* json-c clamps what does not fit in 64 bits: that value is not the one in the file. */
        if (i == INT64_MAX || i == INT64_MIN)
                return parse_fail(c, -EINVAL, "%s: out of range (%" PRId64 " to %" PRId64 ")",
                                  field, min, max);
        if (i < min || i > max)
                return parse_fail(c, -EINVAL,
                                  "%s: %" PRId64 " is out of range (%" PRId64 " to %" PRId64 ")",
                                  field, i, min, max);
        *ret = i;
        return 0;
}

/* A positive size: bytes as an integer, or a string with a binary unit ("512M"). */
static int parse_size(parse_ctx *c, json_object *v, const char *field, uint64_t *ret)
{
        int64_t i = 0;
        int r;

        if (!json_object_is_type(v, json_type_string)) {
                r = parse_u32(c, v, field, 1, (int64_t)POLICY_SIZE_MAX, &i);
                *ret = (uint64_t)i;
                return r;
        }
        if (policy_size_from_string(json_object_get_string(v), ret) >= 0 && *ret > 0)
                return 0;
        return parse_fail(c, -EINVAL,
                          "%s: not a size above 0 (bytes, or a number with K, M, G or T)", field);
}

static int parse_u32_list(parse_ctx *c, json_object *v, const char *field, uint32_t **ret,
                          size_t *ret_n)
{
        _cleanup_free_ uint32_t *list = NULL;
        size_t n;
        int r;

        r = parse_array(c, v, field, &n);
        if (r < 0)
                return r;
        list = calloc(n, sizeof(uint32_t));
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char elem[64];
                int64_t x;

                (void)snprintf(elem, sizeof(elem), "%s[%zu]", field, i);
                /* (uid_t) -1 is "no id" to the kernel and libc, never a real one. */
                r = parse_u32(c, json_object_array_get_idx(v, i), elem, 0, UINT32_MAX - 1, &x);
                if (r < 0)
                        return r;
                list[i] = (uint32_t)x;
        }
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

static int parse_ids(parse_ctx *c, json_object *v, policy_rule *rule)
{
        static const char field[] = "devices.ids";
        _cleanup_free_ policy_id *ids = NULL;
        size_t n;
        int r;

        r = parse_array(c, v, field, &n);
        if (r < 0)
                return r;
        ids = calloc(n, sizeof(policy_id));
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char elem[64], q[80];
                const char *s;

                (void)snprintf(elem, sizeof(elem), "%s[%zu]", field, i);
                r = parse_string(c, json_object_array_get_idx(v, i), elem, &s);
                if (r < 0)
                        return r;
                if (policy_id_from_string(s, &ids[i]) < 0) {
                        quote(q, sizeof(q), s);
                        return parse_fail(c, -EINVAL, "%s: %s is not vendor:device", elem, q);
                }
        }
        rule->ids = TAKE_PTR(ids);
        rule->n_ids = n;
        return 0;
}

static int parse_actions(parse_ctx *c, json_object *v, const char *field, unsigned *ret)
{
        unsigned mask = 0;
        size_t n;
        int r;

        r = parse_array(c, v, field, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char elem[64], q[80];
                const char *s;
                int a;

                (void)snprintf(elem, sizeof(elem), "%s[%zu]", field, i);
                r = parse_string(c, json_object_array_get_idx(v, i), elem, &s);
                if (r < 0)
                        return r;
                for (a = 0; a < _POLICY_ACTION_MAX; a++)
                        if (streq(s, policy_action_to_string((policy_action)a)))
                                break;
                quote(q, sizeof(q), s);
                if (a == _POLICY_ACTION_MAX)
                        return parse_fail(c, -EINVAL,
                                          "%s: unknown action %s (expected acquire, managed or "
                                          "admin)",
                                          elem, q);
                if (mask & (1u << a))
                        return parse_fail(c, -EINVAL, "%s: %s is listed twice", elem, q);
                mask |= 1u << a;
        }
        *ret = mask;
        return 0;
}

static int parse_subjects(parse_ctx *c, json_object *v, policy_rule *rule)
{
        json_object *x;
        int r;

        if (!json_object_is_type(v, json_type_object))
                return parse_fail(c, -EINVAL, "subjects: expected an object");
        r = check_keys(c, v, "subjects", subject_keys);
        if (r < 0)
                return r;
        if (json_object_object_length(v) == 0)
                return parse_fail(c, -EINVAL,
                                  "subjects: empty; name who the rule is for, or write "
                                  "{\"any\": true} for everyone");

        if (json_object_object_get_ex(v, "any", &x)) {
                if (!json_object_is_type(x, json_type_boolean) || !json_object_get_boolean(x))
                        return parse_fail(c, -EINVAL,
                                          "subjects.any: must be true (leave it out otherwise)");
                if (json_object_object_length(v) > 1)
                        return parse_fail(c, -EINVAL,
                                          "subjects.any: cannot be combined with other subjects");
                rule->any_subject = true;
                return 0;
        }

        if (json_object_object_get_ex(v, "uids", &x)) {
                r = parse_u32_list(c, x, "subjects.uids", &rule->uids, &rule->n_uids);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(v, "users", &x)) {
                r = parse_strv(c, x, "subjects.users", check_user, &rule->users, &rule->n_users);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(v, "groups", &x)) {
                r = parse_strv(c, x, "subjects.groups", check_group, &rule->groups,
                               &rule->n_groups);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(v, "gids", &x)) {
                r = parse_u32_list(c, x, "subjects.gids", &rule->gids, &rule->n_gids);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(v, "units", &x)) {
                r = parse_strv(c, x, "subjects.units", check_unit, &rule->units, &rule->n_units);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_devices(parse_ctx *c, json_object *v, policy_rule *rule)
{
        json_object *x;
        int r;

        if (!json_object_is_type(v, json_type_object))
                return parse_fail(c, -EINVAL, "devices: expected an object");
        r = check_keys(c, v, "devices", device_keys);
        if (r < 0)
                return r;
        if (json_object_object_length(v) == 0)
                return parse_fail(c, -EINVAL, "devices: empty; leave it out to match every device");

        if (json_object_object_get_ex(v, "addresses", &x)) {
                r = parse_strv(c, x, "devices.addresses", check_address, &rule->addresses,
                               &rule->n_addresses);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(v, "ids", &x)) {
                r = parse_ids(c, x, rule);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(v, "classes", &x)) {
                r = parse_strv(c, x, "devices.classes", check_class, &rule->classes,
                               &rule->n_classes);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_description(parse_ctx *c, json_object *v, const char *field)
{
        /* Free text for the admin (JSON has no comments): any string without NUL. */
        if (!json_object_is_type(v, json_type_string))
                return parse_fail(c, -EINVAL, "%s: expected a string", field);
        if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
                return parse_fail(c, -EINVAL, "%s: contains a NUL character", field);
        return 0;
}

static int parse_name(parse_ctx *c, json_object *v, policy_rule *rule)
{
        const char *s, *problem;
        char q[80];
        int r;

        r = parse_string(c, v, "name", &s);
        if (r < 0)
                return r;
        problem = check_name(s);
        if (problem) {
                quote(q, sizeof(q), s);
                return parse_fail(c, -EINVAL, "name: %s %s", q, problem);
        }
        rule->name = strdup(s);
        if (!rule->name)
                return -ENOMEM;
        (void)snprintf(c->rule, sizeof(c->rule), "rule \"%s\"", s);
        return 0;
}

static int parse_rule_actions(parse_ctx *c, json_object *v, policy_rule *rule)
{
        const unsigned device_actions = (1u << POLICY_ACQUIRE) | (1u << POLICY_MANAGED);
        const unsigned admin = 1u << POLICY_ADMIN;
        json_object *x;
        int64_t max;
        int r;

        if (json_object_object_get_ex(v, "allow", &x)) {
                r = parse_actions(c, x, "allow", &rule->allow);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(v, "deny", &x)) {
                r = parse_actions(c, x, "deny", &rule->deny);
                if (r < 0)
                        return r;
        }
        if (!rule->allow && !rule->deny)
                return parse_fail(c, -EINVAL, "needs \"allow\" or \"deny\"");
        for (int a = 0; a < _POLICY_ACTION_MAX; a++)
                if (rule->allow & rule->deny & (1u << a))
                        return parse_fail(c, -EINVAL, "deny: \"%s\" is also in allow",
                                          policy_action_to_string((policy_action)a));
        if (((rule->allow | rule->deny) & admin) && policy_rule_has_devices(rule))
                return parse_fail(c, -EINVAL,
                                  "%s: \"admin\" is not per device; put it in a rule without "
                                  "\"devices\"",
                                  rule->allow & admin ? "allow" : "deny");

        if (json_object_object_get_ex(v, "maxDevices", &x)) {
                r = parse_u32(c, x, "maxDevices", 1, INT_MAX, &max);
                if (r < 0)
                        return r;
                if (!(rule->allow & device_actions))
                        return parse_fail(c, -EINVAL,
                                          "maxDevices: only limits rules that allow acquire or "
                                          "managed");
                rule->max_devices = (unsigned)max;
        }
        if (json_object_object_get_ex(v, "maxLockedMemory", &x)) {
                r = parse_size(c, x, "maxLockedMemory", &rule->max_locked_memory);
                if (r < 0)
                        return r;
                if (!(rule->allow & (1u << POLICY_ACQUIRE)))
                        return parse_fail(c, -EINVAL,
                                          "maxLockedMemory: only in rules that allow acquire");
        }
        return 0;
}

static int parse_rule(parse_ctx *c, json_object *v, size_t index, policy_rule *rule)
{
        json_object *x;
        int r;

        (void)snprintf(c->rule, sizeof(c->rule), "rules[%zu]", index);
        if (!json_object_is_type(v, json_type_object))
                return parse_fail(c, -EINVAL, "expected an object");

        /* The name first, so every later message can say which rule it is about. */
        if (json_object_object_get_ex(v, "name", &x)) {
                r = parse_name(c, x, rule);
                if (r < 0)
                        return r;
        }
        rule->id = strdup(rule->name ?: c->rule);
        if (!rule->id)
                return -ENOMEM;
        r = check_keys(c, v, NULL, rule_keys);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(v, "description", &x)) {
                r = parse_description(c, x, "description");
                if (r < 0)
                        return r;
        }

        /* No default subject: a rule for everyone must say so. */
        if (!json_object_object_get_ex(v, "subjects", &x))
                return parse_fail(c, -EINVAL,
                                  "subjects: missing; a rule for everyone says \"subjects\": "
                                  "{\"any\": true}");
        r = parse_subjects(c, x, rule);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(v, "devices", &x)) {
                r = parse_devices(c, x, rule);
                if (r < 0)
                        return r;
        }
        return parse_rule_actions(c, v, rule);
}

static const policy_rule *find_rule_name(const policy_rule *rules, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(rules[i].name, name))
                        return &rules[i];
        return NULL;
}

/* json-c cuts object keys at an escaped NUL ("ru\u0000les" reads as "ru"), so such keys cannot
 * be told apart after parsing: refuse the escape in the text. An odd run of backslashes before
 * "u0000" is an escape; an even one is escaped backslashes followed by plain text. */
static bool text_has_nul_escape(const char *text, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                size_t run = 0;

                while (i < len && text[i] == '\\') {
                        run++;
                        i++;
                }
                if (run % 2 == 1 && len - i >= 5 && memcmp(text + i, "u0000", 5) == 0)
                        return true;
        }
        return false;
}

static json_object *parse_json(parse_ctx *c, const char *text, size_t len, int *ret)
{
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        enum json_tokener_error e;
        json_object *o;
        unsigned line = 1, column = 1;
        size_t end;

        if (memchr(text, 0, len) || text_has_nul_escape(text, len)) {
                *ret = parse_fail(c, -EINVAL, "contains a NUL character");
                return NULL;
        }
        tok = json_tokener_new();
        if (!tok) {
                *ret = -ENOMEM;
                return NULL;
        }
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, text, (int)len);
        e = json_tokener_get_error(tok);
        if (e == json_tokener_success)
                return o;

        json_object_put(o);
        end = json_tokener_get_parse_end(tok);
        for (size_t i = 0; i < end && i < len; i++) {
                column++;
                if (text[i] == '\n') {
                        line++;
                        column = 1;
                }
        }
        if (e == json_tokener_continue)
                *ret = parse_fail(c, -EINVAL, "line %u: unexpected end of input", line);
        else
                *ret = parse_fail(c, -EINVAL, "line %u, column %u: %s", line, column,
                                  json_tokener_error_desc(e));
        return NULL;
}

static int parse_file(parse_ctx *c, json_object *top, const policy *into, policy_rule **ret,
                      size_t *ret_n)
{
        policy_rule *rules = NULL;
        json_object *x;
        size_t n, done = 0;
        int r = 0;

        if (!json_object_is_type(top, json_type_object))
                return parse_fail(c, -EINVAL, "expected a JSON object with \"rules\"");
        r = check_keys(c, top, NULL, top_keys);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(top, "description", &x)) {
                r = parse_description(c, x, "description");
                if (r < 0)
                        return r;
        }
        if (!json_object_object_get_ex(top, "rules", &x))
                return parse_fail(c, -EINVAL, "rules: missing");
        if (!json_object_is_type(x, json_type_array))
                return parse_fail(c, -EINVAL, "rules: expected an array");
        n = json_object_array_length(x);
        if (n > POLICY_RULES_MAX - into->n_rules)
                return parse_fail(c, -E2BIG, "too many rules (at most %u in all files)",
                                  POLICY_RULES_MAX);

        rules = calloc(n ?: 1, sizeof(policy_rule));
        if (!rules)
                return -ENOMEM;
        for (; done < n; done++) {
                const policy_rule *other;

                r = parse_rule(c, json_object_array_get_idx(x, done), done, &rules[done]);
                if (r < 0) {
                        done++; /* partly filled: free it too */
                        break;
                }
                if (!rules[done].name)
                        continue;
                other = find_rule_name(into->rules, into->n_rules, rules[done].name);
                if (!other)
                        other = find_rule_name(rules, done, rules[done].name);
                if (other) {
                        r = parse_fail(c, -EINVAL, "name: already used in %s",
                                       other->file ?: c->file);
                        done++;
                        break;
                }
        }
        if (r < 0) {
                for (size_t i = 0; i < done; i++)
                        policy_rule_done(&rules[i]);
                free(rules);
                return r;
        }
        c->rule[0] = 0;
        *ret = rules;
        *ret_n = n;
        return 0;
}

int policy_parse(const char *text, size_t len, const char *filename, policy *into, char **ret_error)
{
        _cleanup_free_ policy_rule *rules = NULL;
        _cleanup_free_ char *file = NULL;
        _cleanup_json_ json_object *top = NULL;
        parse_ctx c = { .file = filename };
        policy_rule *grown_rules;
        char **grown_files;
        size_t n = 0;
        int r = 0;

        if ((!text && len > 0) || !filename || !into)
                return -EINVAL;

        if (len > POLICY_FILE_SIZE_MAX)
                r = parse_fail(&c, -E2BIG, "larger than %u bytes", POLICY_FILE_SIZE_MAX);
        else
                top = parse_json(&c, text ?: "", len, &r);
        if (top)
                r = parse_file(&c, top, into, &rules, &n);
        if (r < 0)
                goto fail;

        /* Grow both arrays before changing anything, so a failure leaves into as it was. */
        r = -ENOMEM;
        file = strdup(filename);
        if (!file)
                goto fail;
        grown_files = realloc(into->files, (into->n_files + 1) * sizeof(char *));
        if (!grown_files)
                goto fail;
        into->files = grown_files;
        grown_rules = realloc(into->rules, ((into->n_rules + n) ?: 1) * sizeof(policy_rule));
        if (!grown_rules)
                goto fail;
        into->rules = grown_rules;

        for (size_t i = 0; i < n; i++) {
                rules[i].file = file;
                into->subject_needs |= policy_rule_subject_needs(&rules[i]);
        }
        memcpy(into->rules + into->n_rules, rules, n * sizeof(policy_rule));
        into->n_rules += n;
        into->files[into->n_files++] = TAKE_PTR(file);
        free(c.error);
        return 0;

fail:
        for (size_t i = 0; i < n; i++)
                policy_rule_done(&rules[i]);
        if (ret_error)
                *ret_error = TAKE_PTR(c.error);
        free(c.error);
        return r;
}
