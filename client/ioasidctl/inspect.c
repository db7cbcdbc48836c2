/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* list, show, status: what the broker knows, as tables, text or JSON. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioasid-internal.h"
#include "json-cleanup.h"
#include "macro.h"
#include "output.h"
#include "verbs.h"

static void id_of(const ioasid_device *d, char *buf, size_t size)
{
        const char *v = ioasid_device_vendor(d), *p = ioasid_device_id(d);

        /* "0x1af4" and "0x1041" read as lspci's 1af4:1041. */
        snprintf(buf, size, "%s:%s", v && strncmp(v, "0x", 2) == 0 ? v + 2 : v ?: "?",
                 p && strncmp(p, "0x", 2) == 0 ? p + 2 : p ?: "?");
}

static int add_device_row(table *t, const ioasid_group *g, const ioasid_device *d)
{
        char group[16] = "-", id[32], uid_s[16] = "-", pid_s[16] = "-";
        const char *lease = NULL;
        uid_t uid;
        pid_t pid;
        int r = 0;

        if (g)
                snprintf(group, sizeof(group), "%d", ioasid_group_number(g));
        id_of(d, id, sizeof(id));
        if (ioasid_device_owner(d, &uid, &pid, &lease) >= 0) {
                snprintf(uid_s, sizeof(uid_s), "%u", (unsigned)uid);
                snprintf(pid_s, sizeof(pid_s), "%d", (int)pid);
        }
        r = r ?: table_add(t, group, NULL);
        r = r ?: table_add(t, g ? ioasid_group_type(g) : NULL, NULL);
        if (g)
                r = r
                            ?: table_add(t, ioasid_group_viable(g) ? "yes" : "no",
                                         ioasid_group_viable(g) ? ANSI_GREEN : ANSI_RED);
        else
                r = r ?: table_add(t, "no", ANSI_RED);
        r = r ?: table_add(t, ioasid_device_address(d), NULL);
        r = r ?: table_add(t, id, NULL);
        r = r ?: table_add(t, ioasid_device_class(d), NULL);
        r = r ?: table_add(t, ioasid_device_driver(d), NULL);
        r = r ?: table_add(t, lease, NULL);
        r = r ?: table_add(t, uid_s, NULL);
        r = r ?: table_add(t, pid_s, NULL);
        return r;
}

/* Leases named as owners, counted once each. */
static size_t count_leases(const ioasid_group_list *groups)
{
        size_t n = 0, size = ioasid_group_list_size(groups);

        for (size_t i = 0; i < size; i++) {
                const char *lease;
                bool seen = false;

                if (ioasid_group_owner(ioasid_group_list_get(groups, i), NULL, NULL, &lease) < 0)
                        continue;
                for (size_t j = 0; j < i && !seen; j++) {
                        const char *other;

                        seen = ioasid_group_owner(ioasid_group_list_get(groups, j), NULL, NULL,
                                                  &other) >= 0 &&
                               streq(other, lease);
                }
                n += !seen;
        }
        return n;
}

int verb_list(int argc, char **argv)
{
        static const char *const header[] = { "GROUP", "TYPE",   "VIABLE", "ADDRESS", "ID",
                                              "CLASS", "DRIVER", "LEASE",  "UID",     "PID" };
        _cleanup_(ioasid_freep) ioasid *c = NULL;
        _cleanup_(ioasid_group_list_freep) ioasid_group_list *groups = NULL;
        _cleanup_(ioasid_device_list_freep) ioasid_device_list *devices = NULL;
        _cleanup_(tablep_free) table *t = NULL;
        size_t n_devices = 0, n_groups;
        int r, code;

        if (ctl_connect(&c, &code) < 0)
                return code;
        r = ioasid_list_groups(c, &groups);
        if (r < 0)
                return ctl_fail(c, r, "ListGroups");
        r = ioasid_list_devices(c, &devices);
        if (r < 0)
                return ctl_fail(c, r, "ListDevices");
        n_groups = ioasid_group_list_size(groups);

        if (arg.json != JSON_OFF) {
                _cleanup_json_ json_object *o = json_object_new_object(),
                                           *ungrouped = json_object_new_array();

                if (!o || !ungrouped)
                        return EXIT_FAILED;
                for (size_t i = 0; i < ioasid_device_list_size(devices); i++) {
                        const ioasid_device *d = ioasid_device_list_get(devices, i);

                        if (ioasid_device_group(d) < 0)
                                json_object_array_add(ungrouped,
                                                      json_object_get(ioasid_device_json(d)));
                }
                json_object_object_add(o, "groups",
                                       json_object_get(ioasid_group_list_json(groups)));
                json_object_object_add(o, "ungroupedDevices", TAKE_PTR(ungrouped));
                json_print(o);
                return EXIT_OK;
        }

        if (table_new(&t, header, ELEMENTSOF(header)) < 0)
                return EXIT_FAILED;
        for (size_t i = 0; i < n_groups; i++) {
                const ioasid_group *g = ioasid_group_list_get(groups, i);

                for (size_t j = 0; j < ioasid_group_n_devices(g); j++, n_devices++)
                        if (add_device_row(t, g, ioasid_group_device(g, j)) < 0)
                                return EXIT_FAILED;
        }
        for (size_t i = 0; i < ioasid_device_list_size(devices); i++) {
                const ioasid_device *d = ioasid_device_list_get(devices, i);

                if (ioasid_device_group(d) >= 0)
                        continue;
                if (add_device_row(t, NULL, d) < 0)
                        return EXIT_FAILED;
                n_devices++;
        }
        table_print(t);
        if (arg.legend)
                printf("\n%zu groups, %zu devices, %zu leases.\n", n_groups, n_devices,
                       count_leases(groups));
        return EXIT_OK;
}

static bool is_number(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char)*s))
                        return false;
        return true;
}

static void print_owner(const char *indent, int r, uid_t uid, pid_t pid, const char *lease)
{
        if (r < 0)
                printf("%sOwner: none\n", indent);
        else
                printf("%sOwner: uid %u, pid %d, lease %s\n", indent, (unsigned)uid, (int)pid,
                       lease);
}

/* What would make the group viable: the reasons name each device in the way; say the
 * commands. */
static void print_hints(const ioasid_group *g)
{
        bool any = false;

        for (size_t i = 0; i < ioasid_group_n_devices(g); i++) {
                const ioasid_device *d = ioasid_group_device(g, i);
                const char *address = ioasid_device_address(d);

                for (size_t j = 0; address && j < ioasid_group_n_reasons(g); j++) {
                        const char *reason = ioasid_group_reason(g, j);

                        if (strncmp(reason, address, strlen(address)) != 0 ||
                            !ioasid_device_driver(d))
                                continue;
                        if (!any)
                                printf("  To fix: ");
                        printf("%sioasidctl bind %s vfio-pci", any ? "; " : "", address);
                        any = true;
                        break;
                }
        }
        if (any)
                printf("\n          or acquire with --managed, where policy allows it.\n");
}

static void print_group(const ioasid_group *g)
{
        const char *lease;
        uid_t uid;
        pid_t pid;
        int r;

        printf("%sIOMMU group %d%s\n", colour_on(ANSI_BOLD), ioasid_group_number(g), colour_off());
        printf("  Default domain: %s\n", ioasid_group_type(g) ?: "?");
        printf("  Viable: %s%s%s\n", colour_on(ioasid_group_viable(g) ? ANSI_GREEN : ANSI_RED),
               ioasid_group_viable(g) ? "yes" : "no", colour_off());
        for (size_t i = 0; i < ioasid_group_n_reasons(g); i++)
                printf("    because %s\n", ioasid_group_reason(g, i));
        if (!ioasid_group_viable(g))
                print_hints(g);
        for (size_t i = 0; i < ioasid_group_n_notes(g); i++)
                printf("  Note: %s\n", ioasid_group_note(g, i));
        printf("  DMA blocked: %s\n",
               ioasid_group_dma_blocked(g) ? "yes (claimed for its owner)" : "no");
        r = ioasid_group_owner(g, &uid, &pid, &lease);
        print_owner("  ", r, uid, pid, lease);
        printf("  Devices:\n");
        for (size_t i = 0; i < ioasid_group_n_devices(g); i++) {
                const ioasid_device *d = ioasid_group_device(g, i);
                char id[32];

                id_of(d, id, sizeof(id));
                printf("    %s %s class %s, driver %s%s%s\n", ioasid_device_address(d), id,
                       ioasid_device_class(d) ?: "?", ioasid_device_driver(d) ?: "none",
                       ioasid_device_cdev(d) ? ", cdev " : "", ioasid_device_cdev(d) ?: "");
        }
}

static int show_group(ioasid *c, int number, const ioasid_device *device)
{
        _cleanup_(ioasid_group_list_freep) ioasid_group_list *groups = NULL;
        int r = ioasid_get_group(c, number, &groups);

        if (r < 0)
                return ctl_fail(c, r, "GetGroup");
        if (arg.json != JSON_OFF) {
                _cleanup_json_ json_object *o = json_object_new_object();

                if (!o)
                        return EXIT_FAILED;
                if (device)
                        json_object_object_add(o, "device",
                                               json_object_get(ioasid_device_json(device)));
                json_object_object_add(
                        o, "group",
                        json_object_get(ioasid_group_json(ioasid_group_list_get(groups, 0))));
                json_print(o);
                return EXIT_OK;
        }
        print_group(ioasid_group_list_get(groups, 0));
        return EXIT_OK;
}

static void print_device(const ioasid_device *d)
{
        const char *lease;
        char id[32];
        uid_t uid;
        pid_t pid;
        int r;

        id_of(d, id, sizeof(id));
        printf("%sDevice %s%s\n", colour_on(ANSI_BOLD), ioasid_device_address(d), colour_off());
        printf("  ID: %s, class %s\n", id, ioasid_device_class(d) ?: "?");
        printf("  Driver: %s\n", ioasid_device_driver(d) ?: "none");
        printf("  VFIO cdev: %s\n", ioasid_device_cdev(d) ?: "none");
        r = ioasid_device_owner(d, &uid, &pid, &lease);
        print_owner("  ", r, uid, pid, lease);
        if (ioasid_device_group(d) < 0)
                printf("  IOMMU group: none; without an IOMMU group a device cannot be passed "
                       "through (is the IOMMU enabled?)\n");
}

int verb_show(int argc, char **argv)
{
        _cleanup_(ioasid_freep) ioasid *c = NULL;
        _cleanup_(ioasid_device_list_freep) ioasid_device_list *devices = NULL;
        const ioasid_device *d = NULL;
        int r, code;

        if (ctl_connect(&c, &code) < 0)
                return code;
        if (is_number(argv[1]))
                return show_group(c, atoi(argv[1]), NULL);
        r = ioasid_list_devices(c, &devices);
        if (r < 0)
                return ctl_fail(c, r, "ListDevices");
        for (size_t i = 0; i < ioasid_device_list_size(devices) && !d; i++)
                if (streq(ioasid_device_address(ioasid_device_list_get(devices, i)), argv[1]))
                        d = ioasid_device_list_get(devices, i);
        if (!d) {
                fprintf(stderr, "ioasidctl: no PCI device %s (addresses look like 0000:00:03.1)\n",
                        argv[1]);
                return EXIT_NOT_FOUND;
        }
        if (ioasid_device_group(d) < 0) {
                if (arg.json != JSON_OFF) {
                        _cleanup_json_ json_object *o = json_object_new_object();

                        if (!o)
                                return EXIT_FAILED;
                        json_object_object_add(o, "device", json_object_get(ioasid_device_json(d)));
                        json_print(o);
                } else
                        print_device(d);
                return EXIT_OK;
        }
        if (arg.json == JSON_OFF) {
                print_device(d);
                putchar('\n');
        }
        return show_group(c, ioasid_device_group(d), d);
}

int verb_status(int argc, char **argv)
{
        _cleanup_(ioasid_freep) ioasid *c = NULL;
        _cleanup_(ioasid_status_freep) ioasid_status *s = NULL;
        const char *backend;
        int r, code;

        if (ctl_connect(&c, &code) < 0)
                return code;
        r = ioasid_get_status(c, &s);
        if (r < 0)
                return ctl_fail(c, r, "GetStatus");
        backend = ioasid_status_backend(s);
        if (arg.json != JSON_OFF) {
                _cleanup_json_ json_object *o = json_object_new_object();

                if (!o)
                        return EXIT_FAILED;
                json_object_object_add(o, "version",
                                       json_object_new_string(ioasid_status_version(s)));
                json_object_object_add(o, "backend",
                                       backend ? json_object_new_string(backend) : NULL);
                json_object_object_add(o, "groups", json_object_new_int(ioasid_status_groups(s)));
                json_object_object_add(o, "viableGroups",
                                       json_object_new_int(ioasid_status_viable_groups(s)));
                json_object_object_add(o, "devices", json_object_new_int(ioasid_status_devices(s)));
                json_object_object_add(o, "leases", json_object_new_int(ioasid_status_leases(s)));
                json_print(o);
                return EXIT_OK;
        }
        printf("  Broker: %s\n", arg.socket ?: getenv("IOASID_SOCKET") ?: IOASID_DEFAULT_SOCKET);
        printf(" Version: %s\n", ioasid_status_version(s));
        printf(" Backend: %s\n",
               backend ?: "none (the kernel offers neither iommufd nor VFIO groups)");
        printf("  Groups: %d (%d viable)\n", ioasid_status_groups(s),
               ioasid_status_viable_groups(s));
        printf(" Devices: %d\n", ioasid_status_devices(s));
        printf("  Leases: %d\n", ioasid_status_leases(s));
        return EXIT_OK;
}
