/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ioasidd: brokers VFIO devices and IOMMU address spaces to unprivileged VMMs. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "manager.h"
#include "sandbox.h"

static void help(void)
{
        printf("ioasidd " PROJECT_VERSION ": brokers VFIO devices to unprivileged VMMs\n\n"
               "  --sysfs-root DIR     sysfs to read devices from (default /sys)\n"
               "  --dev-root DIR       where vfio and iommu nodes live (default /dev)\n"
               "  --state-dir DIR      lease records (default /run/ioasid)\n"
               "  --policy-dir DIR     policy files (default /etc/ioasid/policy.d)\n"
               "  --socket PATH        varlink socket (default /run/ioasid/io.ioasid.Broker);\n"
               "                       a socket passed by the service manager wins\n"
               "  --uevent-socket PATH take device events from datagrams on PATH instead of\n"
               "                       the system's (for tests on a generated sysfs)\n"
               "  --backend NAME       iommufd, legacy, or fake (generated sysfs trees only);\n"
               "                       default: iommufd where the kernel has it, else legacy\n"
               "  --revoke-timeout SEC how long Revoke, or putting managed devices back at a\n"
               "                       lease's end, waits for the holder before killing it\n"
               "                       (default 10)\n"
               "  --fake-kernel PROG   tests on a generated sysfs: run PROG to play the kernel's\n"
               "                       part of driver bind, unbind and probe writes\n"
               "  --log-level LEVEL    err, warning, notice, info, debug\n");
}

int main(int argc, char **argv)
{
        enum {
                ARG_SYSFS = 0x100,
                ARG_DEV,
                ARG_STATE,
                ARG_POLICY,
                ARG_SOCKET,
                ARG_UEVENT,
                ARG_LOG,
                ARG_BACKEND,
                ARG_FAKE_KERNEL,
                ARG_REVOKE_TIMEOUT,
        };
        static const struct option options[] = {
                { "sysfs-root", required_argument, NULL, ARG_SYSFS },
                { "dev-root", required_argument, NULL, ARG_DEV },
                { "state-dir", required_argument, NULL, ARG_STATE },
                { "policy-dir", required_argument, NULL, ARG_POLICY },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "uevent-socket", required_argument, NULL, ARG_UEVENT },
                { "backend", required_argument, NULL, ARG_BACKEND },
                { "fake-kernel", required_argument, NULL, ARG_FAKE_KERNEL },
                { "revoke-timeout", required_argument, NULL, ARG_REVOKE_TIMEOUT },
                { "log-level", required_argument, NULL, ARG_LOG },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        manager_config config = {
                .sysfs_root = "/sys",
                .dev_root = "/dev",
                .state_dir = "/run/ioasid",
                .policy_dir = "/etc/ioasid/policy.d",
                .socket_path = "/run/ioasid/io.ioasid.Broker",
                .revoke_timeout_usec = 10 * 1000000ULL,
        };
        manager *d = NULL;
        int c, r;

        log_set_ident("ioasidd");
        log_parse_env();
        while ((c = getopt_long(argc, argv, "hV", options, NULL)) >= 0) {
                switch (c) {
                case ARG_SYSFS:
                        config.sysfs_root = optarg;
                        break;
                case ARG_DEV:
                        config.dev_root = optarg;
                        break;
                case ARG_STATE:
                        config.state_dir = optarg;
                        break;
                case ARG_POLICY:
                        config.policy_dir = optarg;
                        break;
                case ARG_SOCKET:
                        config.socket_path = optarg;
                        break;
                case ARG_UEVENT:
                        config.uevent_socket = optarg;
                        break;
                case ARG_BACKEND:
                        config.backend = optarg;
                        break;
                case ARG_FAKE_KERNEL:
                        config.fake_kernel = optarg;
                        break;
                case ARG_REVOKE_TIMEOUT: {
                        char *end;
                        unsigned long s;

                        errno = 0;
                        s = strtoul(optarg, &end, 10);
                        if (errno || end == optarg || *end || s == 0 || s > 3600) {
                                fprintf(stderr, "--revoke-timeout takes 1 to 3600 seconds.\n");
                                return 2;
                        }
                        config.revoke_timeout_usec = s * 1000000ULL;
                        break;
                }
                case ARG_LOG:
                        setenv("IOASID_LOG_LEVEL", optarg, 1);
                        log_parse_env();
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("ioasidd " PROJECT_VERSION "\n");
                        return 0;
                default:
                        fprintf(stderr, "Try 'ioasidd --help'.\n");
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "ioasidd takes no positional arguments.\n");
                return 2;
        }

        /* glibc maps allocations from 128 KiB up on their own, but raises that threshold to
         * the size of each such block freed: after one large reply every later one came from
         * the heap, and a burst of them left 30-60 MiB there that free() never returned. A
         * fixed threshold keeps large buffers mapped and gives each back when freed. */
        (void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        (void)vl_raise_fd_limit();
        r = manager_new(&config, &d);
        if (r >= 0)
                r = sandbox_apply(config.fake_kernel != NULL);
        if (r >= 0)
                r = manager_run(d);
        manager_free(d);
        return r < 0 ? 1 : 0;
}
