/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ioasidctl: inspect and administer ioasidd. The command line, and the table of verbs. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "macro.h"
#include "output.h"
#include "verbs.h"

typedef struct verb {
        const char *name;
        int min_args, max_args; /* the verb's own arguments; -1: any number */
        int (*run)(int argc, char **argv);
        const char *usage;
        const char *help;
} verb;

static const verb verbs[] = {
        { "list", 0, 0, verb_list, "list",
          "List IOMMU groups and their devices: driver, viability, owner.\n"
          "Options: --json=pretty|short, --no-legend\n" },
        { "show", 1, 1, verb_show, "show ADDRESS|GROUP",
          "Show everything known of a device (by PCI address) or an IOMMU group (by number),\n"
          "including why a group is not viable and what would fix it.\n"
          "Options: --json=pretty|short\n" },
        { "status", 0, 0, verb_status, "status",
          "Show the broker's version and counts of groups, devices and leases.\n"
          "Options: --json=pretty|short\n" },
        { "monitor", 0, 0, verb_monitor, "monitor",
          "Print the broker's events as they come, until Ctrl-C. The first is \"ready\".\n"
          "Options: --json=pretty|short (one event per line with short)\n" },
        { "acquire", 1, -1, verb_acquire, "acquire ADDRESS... [--managed] [--path-mode] [--hold]",
          "Acquire devices (and so their whole IOMMU groups), print the lease, then release\n"
          "it; with --hold keep it until Ctrl-C. For testing access and policy.\n"
          "  --managed    let the broker bind the groups' devices to vfio-pci\n"
          "  --path-mode  legacy backend: own the group nodes instead of receiving fds\n"
          "  --hold       hold the lease until Ctrl-C or SIGTERM\n"
          "Options: --json=pretty|short\n" },
        { "release", 1, 1, verb_release, "release LEASE", "End a lease of your own.\n" },
        { "revoke", 1, 1, verb_revoke, "revoke LEASE",
          "End anyone's lease (admin). The holder is asked to let go, then killed.\n" },
        { "bind", 2, 2, verb_bind, "bind ADDRESS DRIVER",
          "Bind a device to a driver (admin); driver_override keeps it there.\n" },
        { "unbind", 1, 1, verb_unbind, "unbind ADDRESS",
          "Unbind a device from its driver (admin).\n" },
        { "rescan", 0, 0, verb_rescan, "rescan",
          "Make the broker read all devices and groups again (admin).\n" },
        { "policy", 1, -1, verb_policy, "policy check --uid UID ADDRESS... | policy reload",
          "check: whether UID may acquire each device, which rule decides and why (admin);\n"
          "       exits 3 if any is refused.\n"
          "reload: read the policy directory again (admin); on an error the old policy stays.\n"
          "Options: --json=pretty|short\n" },
};

static const verb *find_verb(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

static void help(void)
{
        printf("ioasidctl [OPTIONS...] COMMAND ...\n\n"
               "Inspect and administer ioasidd, the VFIO device broker.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %s\n", verbs[i].usage);
        printf("\nOptions:\n"
               "  -h --help             show this help, or a command's (COMMAND --help)\n"
               "     --version          show the version\n"
               "     --socket PATH      the broker's socket (default $IOASID_SOCKET, else\n"
               "                        " IOASID_DEFAULT_SOCKET ")\n"
               "     --json=pretty|short  print JSON\n"
               "  -j                    same as --json=pretty on a terminal, else short\n"
               "     --no-legend        no column headers and no footer\n\n"
               "Exit status: 0 ok, 1 failure, 2 usage, 3 refused by the broker, 4 no such\n"
               "device, group or lease, 5 broker unreachable. See ioasidctl(8).\n");
}

static void verb_help(const verb *v)
{
        printf("ioasidctl %s\n\n%s", v->usage, v->help);
}

static int parse_json(const char *s)
{
        if (streq(s, "pretty"))
                arg.json = JSON_PRETTY;
        else if (streq(s, "short"))
                arg.json = JSON_SHORT;
        else if (streq(s, "off"))
                arg.json = JSON_OFF;
        else if (streq(s, "help")) {
                printf("short\npretty\noff\n");
                return 0;
        } else {
                fprintf(stderr, "ioasidctl: --json takes pretty, short or off, not \"%s\".\n", s);
                return -EINVAL;
        }
        return 1;
}

static int parse_uid(const char *s)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < 0 || v >= (long)UINT32_MAX) {
                fprintf(stderr, "ioasidctl: --uid takes a number, not \"%s\".\n", s);
                return -EINVAL;
        }
        arg.uid = v;
        return 1;
}

int main(int argc, char **argv)
{
        enum {
                ARG_VERSION = 0x100,
                ARG_SOCKET,
                ARG_JSON,
                ARG_NO_LEGEND,
                ARG_MANAGED,
                ARG_HOLD,
                ARG_PATH_MODE,
                ARG_UID,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "json", required_argument, NULL, ARG_JSON },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "managed", no_argument, NULL, ARG_MANAGED },
                { "hold", no_argument, NULL, ARG_HOLD },
                { "path-mode", no_argument, NULL, ARG_PATH_MODE },
                { "uid", required_argument, NULL, ARG_UID },
                {},
        };
        bool want_help = false;
        const verb *v;
        int c, r, n;

        while ((c = getopt_long(argc, argv, "hj", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        want_help = true;
                        break;
                case ARG_VERSION:
                        printf("ioasidctl " PROJECT_VERSION "\n");
                        return EXIT_OK;
                case ARG_SOCKET:
                        arg.socket = optarg;
                        break;
                case ARG_JSON:
                        r = parse_json(optarg);
                        if (r <= 0)
                                return r < 0 ? EXIT_USAGE : EXIT_OK;
                        break;
                case 'j':
                        arg.json = use_colour() ? JSON_PRETTY : JSON_SHORT;
                        break;
                case ARG_NO_LEGEND:
                        arg.legend = false;
                        break;
                case ARG_MANAGED:
                        arg.managed = true;
                        break;
                case ARG_HOLD:
                        arg.hold = true;
                        break;
                case ARG_PATH_MODE:
                        arg.path_mode = true;
                        break;
                case ARG_UID:
                        if (parse_uid(optarg) < 0)
                                return EXIT_USAGE;
                        break;
                default:
                        fprintf(stderr, "Try 'ioasidctl --help'.\n");
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                if (want_help) {
                        help();
                        return EXIT_OK;
                }
                fprintf(stderr, "ioasidctl: a command is needed. Try 'ioasidctl --help'.\n");
                return EXIT_USAGE;
        }
        v = find_verb(argv[optind]);
        if (!v) {
                fprintf(stderr, "ioasidctl: unknown command \"%s\". Try 'ioasidctl --help'.\n",
                        argv[optind]);
                return EXIT_USAGE;
        }
        if (want_help) {
                verb_help(v);
                return EXIT_OK;
        }
        n = argc - optind - 1;
        if (n < v->min_args || (v->max_args >= 0 && n > v->max_args)) {
                fprintf(stderr, "ioasidctl: usage: ioasidctl %s\n", v->usage);
                return EXIT_USAGE;
        }
        return v->run(argc - optind, argv + optind);
}
