/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ioasid-run: acquire devices with this process as the holder, then exec a command (same pid,
 * so the lease lasts exactly as long as the command) with the granted fds inherited and their
 * numbers, or the group nodes' paths, substituted into its arguments. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "fd-util.h"
#include "ioasid-internal.h"
#include "locked-memory.h"
#include "placeholder.h"

/* The exit codes of ioasidctl(8); 126 and 127 as a shell's when the command cannot run. */
enum {
        EXIT_FAILED = 1,
        EXIT_USAGE = 2,
        EXIT_REFUSED = 3,
        EXIT_NOT_FOUND = 4,
        EXIT_UNREACHABLE = 5,
        EXIT_CANNOT_EXEC = 126,
        EXIT_NO_COMMAND = 127,
};

static struct {
        const char *socket;
        char **devices;
        size_t n_devices;
        int managed;            /* -1: not given */
        int path_mode;          /* -1: not given; then on when {path:...} is used */
        uint64_t locked_memory; /* 0: not asked */
        bool locked_memory_auto;
        bool verbose;
} arg = { .managed = -1, .path_mode = -1 };

static void help(void)
{
        printf("ioasid-run [OPTIONS...] --device ADDRESS [--device ADDRESS...] -- COMMAND "
               "[ARGS...]\n\n"
               "Acquire PCI devices from ioasidd with this process as the lease's holder, then\n"
               "exec COMMAND: the lease lasts exactly as long as COMMAND runs. The granted fds\n"
               "stay open, and in ARGS\n"
               "  {iommufd}       becomes the iommufd's number (legacy: the container's)\n"
               "  {device:ADDR}   the device cdev's number (legacy: the group fd's)\n"
               "  {group:ADDR}    the group fd's number (legacy backend only)\n"
               "  {path:ADDR}     the group node the user now owns (path mode only)\n"
               "The same facts are in the environment: IOASID_LEASE, IOASID_BACKEND,\n"
               "IOASID_IOMMUFD, IOASID_DEVICE_FDS, IOASID_GROUP_FDS, IOASID_PATHS.\n\n"
               "  -h --help           show this help\n"
               "     --version        show the version\n"
               "     --socket PATH    the broker's socket (default $IOASID_SOCKET, else\n"
               "                      " IOASID_DEFAULT_SOCKET ")\n"
               "  -d --device ADDR    a device to acquire (its whole IOMMU group comes along)\n"
               "     --managed        let the broker bind the groups' devices to vfio-pci\n"
               "     --path-mode      legacy backend: own the group nodes instead of receiving\n"
               "                      fds; on by default when ARGS use {path:ADDR}\n"
               "     --locked-memory SIZE|auto\n"
               "                      have the broker raise COMMAND's locked-memory limit to\n"
               "                      SIZE (64M, 2G; policy maxLockedMemory); auto: QEMU's\n"
               "                      guest RAM (-m) plus 64M for ROMs\n"
               "  -v --verbose        say what was granted, on stderr\n\n"
               "A VMM pins all guest RAM for DMA, charged to its own locked-memory limit\n"
               "(typically 8M for a user): for QEMU, ioasid-run refuses to start when the\n"
               "limit would be below -m plus 64M; ask with --locked-memory.\n\n"
               "The legacy backend (kernels without iommufd) serves two kinds of VMM. Those\n"
               "that take a group fd and a container fd get them ({group:ADDR}, {iommufd}).\n"
               "Those that open /dev/vfio/N themselves, as QEMU does with the legacy backend\n"
               "(-device vfio-pci,host=ADDR), need --path-mode: the user then owns the node\n"
               "while COMMAND runs, and no fds are passed. --path-mode is on by default when\n"
               "ARGS use {path:ADDR}. With the iommufd backend QEMU takes the fds:\n"
               "  ioasid-run --device 0000:00:03.1 -- qemu-system-x86_64 \\\n"
               "      -object iommufd,id=i0,fd={iommufd} \\\n"
               "      -device vfio-pci,iommufd=i0,fd={device:0000:00:03.1} ...\n\n"
               "Exit status: COMMAND's; before it runs, 2 usage, 3 refused by the broker,\n"
               "4 no such device, 5 broker unreachable, 126/127 COMMAND cannot run.\n");
}

static int add_device(const char *address)
{
        char **a = reallocarray(arg.devices, arg.n_devices + 1, sizeof(char *));

        if (!a)
                return -ENOMEM;
        arg.devices = a;
        arg.devices[arg.n_devices++] = (char *)address;
        return 0;
}

static int parse_argv(int argc, char **argv)
{
        enum {
                ARG_VERSION = 0x100,
                ARG_SOCKET,
                ARG_MANAGED,
                ARG_PATH_MODE,
                ARG_LOCKED_MEMORY,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "device", required_argument, NULL, 'd' },
                { "managed", no_argument, NULL, ARG_MANAGED },
                { "path-mode", no_argument, NULL, ARG_PATH_MODE },
                { "locked-memory", required_argument, NULL, ARG_LOCKED_MEMORY },
                { "verbose", no_argument, NULL, 'v' },
                {},
        };
        int c;

        /* "+": options end at COMMAND, so its own options are never taken for ours. */
        while ((c = getopt_long(argc, argv, "+hd:v", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("ioasid-run " PROJECT_VERSION "\n");
                        return 0;
                case ARG_SOCKET:
                        arg.socket = optarg;
                        break;
                case 'd':
                        if (add_device(optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_MANAGED:
                        arg.managed = true;
                        break;
                case ARG_PATH_MODE:
                        arg.path_mode = true;
                        break;
                case ARG_LOCKED_MEMORY:
                        arg.locked_memory_auto = streq(optarg, "auto");
                        if (!arg.locked_memory_auto &&
                            (locked_memory_parse(optarg, 0, &arg.locked_memory) < 0 ||
                             arg.locked_memory == 0)) {
                                fprintf(stderr,
                                        "ioasid-run: --locked-memory %s: expected a size such "
                                        "as 256M or 4G, or auto.\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                case 'v':
                        arg.verbose = true;
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (arg.n_devices == 0 || optind >= argc) {
                fprintf(stderr, "ioasid-run: needs --device ADDRESS and a COMMAND.\n");
                return -EINVAL;
        }
        return 1;
}

static int refusal(ioasid *c, int r)
{
        const char *lease;
        uid_t uid;
        pid_t pid;

        if (!ioasid_error_name(c)) {
                fprintf(stderr, "ioasid-run: cannot acquire: %s\n", strerror(-r));
                return r == -ENOENT || r == -ECONNREFUSED || r == -ECONNRESET ? EXIT_UNREACHABLE
                                                                              : EXIT_FAILED;
        }
        fprintf(stderr, "ioasid-run: the broker refused: %s\n", ioasid_error_name(c));
        if (ioasid_error_message(c))
                fprintf(stderr, "  %s\n", ioasid_error_message(c));
        for (size_t i = 0; i < ioasid_error_n_reasons(c); i++)
                fprintf(stderr, "  - %s\n", ioasid_error_reason_at(c, i));
        if (ioasid_error_address(c))
                fprintf(stderr, "  device %s\n", ioasid_error_address(c));
        if (ioasid_error_owner(c, &uid, &pid, &lease) >= 0)
                fprintf(stderr, "  group %d is held by uid %u, pid %d, lease %s\n",
                        ioasid_error_group(c), (unsigned)uid, (int)pid, lease);
        return r == -ENOENT ? EXIT_NOT_FOUND
               : streq(ioasid_error_name(c), "org.varlink.service.InvalidParameter") ? EXIT_USAGE
                                                                                     : EXIT_REFUSED;
}

/* The request. A new Acquire field is one more option and one more setter call here. */
static int build_options(ioasid_acquire_options **ret)
{
        _cleanup_(ioasid_acquire_options_freep) ioasid_acquire_options *o = NULL;
        int r = ioasid_acquire_options_new(&o);

        for (size_t i = 0; r >= 0 && i < arg.n_devices; i++)
                r = ioasid_acquire_options_add_device(o, arg.devices[i]);
        if (r >= 0 && arg.managed >= 0)
                r = ioasid_acquire_options_set_managed(o, arg.managed);
        if (r >= 0 && arg.path_mode > 0)
                r = ioasid_acquire_options_set_path_mode(o, true);
        if (r >= 0 && arg.locked_memory > 0)
                r = ioasid_acquire_options_set_locked_memory(o, arg.locked_memory);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

/* The granted fds, made inheritable, and where each one is. */
static int collect(ioasid_lease *l, run_grant *grants, run_facts *f)
{
        bool legacy = streq(ioasid_lease_backend(l), "legacy");
        int r;

        f->iommufd = ioasid_lease_iommu_fd(l);
        f->grants = grants;
        f->n_grants = ioasid_lease_n_grants(l);
        if (f->iommufd >= 0 && (r = fd_cloexec(f->iommufd, false)) < 0)
                return r;
        for (size_t i = 0; i < f->n_grants; i++) {
                int fd = ioasid_lease_grant_fd(l, i);

                grants[i] = (run_grant){
                        .address = ioasid_lease_grant_address(l, i),
                        .device_fd = fd,
                        .group_fd = legacy ? fd : -1,
                        .path = ioasid_lease_grant_path(l, i),
                };
                if (fd >= 0 && (r = fd_cloexec(fd, false)) < 0)
                        return r;
        }
        return 0;
}

static int set_env_map(const char *name, const run_facts *f, int which)
{
        _cleanup_free_ char *value = NULL;
        size_t size = 0;
        FILE *s = open_memstream(&value, &size);
        bool any = false;

        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < f->n_grants; i++) {
                const run_grant *g = &f->grants[i];
                int fd = which == PLACEHOLDER_DEVICE ? g->device_fd : g->group_fd;

                if (which == PLACEHOLDER_PATH && g->path)
                        fprintf(s, "%s%s=%s", any ? " " : "", g->address, g->path);
                else if (which != PLACEHOLDER_PATH && fd >= 0)
                        fprintf(s, "%s%s=%d", any ? " " : "", g->address, fd);
                else
                        continue;
                any = true;
        }
        if (fclose(s) != 0)
                return -ENOMEM;
        if (!any)
                return unsetenv(name) < 0 ? negative_errno() : 0;
        return setenv(name, value, 1) < 0 ? negative_errno() : 0;
}

static int set_env(ioasid_lease *l, const run_facts *f)
{
        char buf[16];
        int r;

        if (setenv("IOASID_LEASE", ioasid_lease_id(l), 1) < 0 ||
            setenv("IOASID_BACKEND", ioasid_lease_backend(l), 1) < 0)
                return negative_errno();
        snprintf(buf, sizeof(buf), "%d", f->iommufd);
        if (f->iommufd >= 0 ? setenv("IOASID_IOMMUFD", buf, 1) : unsetenv("IOASID_IOMMUFD"))
                return negative_errno();
        r = set_env_map("IOASID_DEVICE_FDS", f, PLACEHOLDER_DEVICE);
        if (r >= 0)
                r = set_env_map("IOASID_GROUP_FDS", f, PLACEHOLDER_GROUP);
        if (r >= 0)
                r = set_env_map("IOASID_PATHS", f, PLACEHOLDER_PATH);
        return r;
}

static const char *placeholder_name(const char *at, char *buf, size_t size)
{
        const char *end = strchr(at, '}');
        size_t n = end ? (size_t)(end - at) + 1 : strlen(at);

        snprintf(buf, size, "%.*s", (int)MIN(n, size - 1), at);
        return buf;
}

/* Fills argv in place; before acquiring (dry: only the addresses count), and after. */
static int expand_argv(char **argv, const run_facts *f, bool dry, const char *backend)
{
        for (size_t i = 0; argv[i]; i++) {
                const char *bad = NULL;
                char *out, name[128];
                int r = placeholder_expand(argv[i], f, &out, &bad);

                if (r == -ENOENT) {
                        fprintf(stderr, "ioasid-run: %s names a device not given with --device.\n",
                                placeholder_name(bad, name, sizeof(name)));
                        return EXIT_USAGE;
                }
                if (r == -ENODATA) {
                        fprintf(stderr,
                                "ioasid-run: %s has no value with the %s backend%s; see "
                                "--help.\n",
                                placeholder_name(bad, name, sizeof(name)), backend,
                                f->iommufd < 0 ? " in path mode" : "");
                        return EXIT_USAGE;
                }
                if (r < 0) {
                        fprintf(stderr, "ioasid-run: %s\n", strerror(-r));
                        return EXIT_FAILED;
                }
                if (dry)
                        free(out);
                else
                        argv[i] = out; /* lives until exec */
        }
        return 0;
}

/* Checks the placeholders against --device before anything is acquired, and turns path mode
 * on when {path:...} is used. */
static int check_argv(char **argv)
{
        _cleanup_free_ run_grant *grants = calloc(arg.n_devices, sizeof(run_grant));
        run_facts f = { .iommufd = 0, .grants = grants, .n_grants = arg.n_devices };
        unsigned kinds = 0;

        if (!grants)
                return EXIT_FAILED;
        for (size_t i = 0; i < arg.n_devices; i++)
                grants[i] = (run_grant){ .address = arg.devices[i], .path = "" };
        for (size_t i = 0; argv[i]; i++)
                kinds |= placeholder_kinds(argv[i]);
        if ((kinds & PLACEHOLDER_PATH) &&
            (kinds & (PLACEHOLDER_IOMMUFD | PLACEHOLDER_DEVICE | PLACEHOLDER_GROUP))) {
                fprintf(stderr, "ioasid-run: {path:...} (path mode) and fd placeholders do not "
                                "mix: path mode grants no fds.\n");
                return EXIT_USAGE;
        }
        if (kinds & PLACEHOLDER_PATH)
                arg.path_mode = true;
        return expand_argv(argv, &f, true, "");
}

static void format_mib(char *buf, size_t size, uint64_t bytes)
{
        if (bytes == RLIM_INFINITY)
                snprintf(buf, size, "unlimited");
        else
                snprintf(buf, size, "%" PRIu64 " MiB", (bytes + (1 << 20) - 1) >> 20);
}

/* Before anything is acquired: QEMU with too little locked memory fails only once the guest's
 * RAM is mapped for DMA ("vfio_container_dma_map(...) = -12"), so that is said here instead.
 * The limit COMMAND will have is this process's (exec keeps it), or what is asked for. */
static int check_locked_memory(char **cmd)
{
        char need_s[32], have_s[32];
        struct rlimit rl;
        uint64_t need, have;
        int r = locked_memory_for_qemu(cmd, &need);

        if (r == -ENOENT) {
                if (!arg.locked_memory_auto)
                        return 0;
                fprintf(stderr,
                        "ioasid-run: --locked-memory auto reads QEMU's -m; %s is not "
                        "qemu-system-*: give a size.\n",
                        cmd[0]);
                return EXIT_USAGE;
        }
        if (r < 0) {
                if (!arg.locked_memory_auto)
                        return 0; /* not ours to judge: QEMU says what it thinks of it */
                fprintf(stderr, "ioasid-run: --locked-memory auto cannot read QEMU's -m: give "
                                "a size.\n");
                return EXIT_USAGE;
        }
        if (arg.locked_memory_auto)
                arg.locked_memory = need;
        if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
                return 0;
        have = MAX((uint64_t)rl.rlim_cur, arg.locked_memory);
        if (rl.rlim_cur == RLIM_INFINITY || have >= need)
                return 0;
        format_mib(need_s, sizeof(need_s), need);
        format_mib(have_s, sizeof(have_s), have);
        fprintf(stderr,
                "ioasid-run: QEMU will pin its guest RAM for DMA and needs about %s of locked "
                "memory (-m plus 64 MiB for ROMs), but its limit would be %s. Ask the broker "
                "with --locked-memory auto (or a size; the policy's maxLockedMemory must allow "
                "it).\n",
                need_s, have_s);
        return EXIT_USAGE;
}

/* The broker raised the limit, or said why not; this makes sure before COMMAND counts on it. */
static int check_limit_raised(void)
{
        char want_s[32], have_s[32];
        struct rlimit rl;

        if (arg.locked_memory == 0 || getrlimit(RLIMIT_MEMLOCK, &rl) < 0 ||
            rl.rlim_cur == RLIM_INFINITY || (uint64_t)rl.rlim_cur >= arg.locked_memory)
                return 0;
        format_mib(want_s, sizeof(want_s), arg.locked_memory);
        format_mib(have_s, sizeof(have_s), rl.rlim_cur);
        fprintf(stderr, "ioasid-run: the locked-memory limit is %s, not the %s asked for.\n",
                have_s, want_s);
        return EXIT_FAILED;
}

int main(int argc, char **argv)
{
        _cleanup_(ioasid_freep) ioasid *c = NULL;
        _cleanup_(ioasid_acquire_options_freep) ioasid_acquire_options *o = NULL;
        /* Freed only on the ways out that run no command: exec keeps its fds for the command. */
        _cleanup_(ioasid_lease_freep) ioasid_lease *l = NULL;
        _cleanup_free_ run_grant *grants = NULL;
        run_facts f;
        char **cmd;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        cmd = argv + optind;
        r = check_argv(cmd);
        if (r == 0)
                r = check_locked_memory(cmd);
        if (r != 0)
                return r;
        if (build_options(&o) < 0)
                return EXIT_FAILED;

        r = ioasid_connect(arg.socket, &c);
        if (r < 0) {
                fprintf(stderr, "ioasid-run: cannot reach the broker: %s\n", strerror(-r));
                return EXIT_UNREACHABLE;
        }
        r = ioasid_acquire(c, o, &l);
        if (r < 0)
                return refusal(c, r);
        /* The connection is not needed for the lease: the holder is this pid, which exec keeps. */
        c = ioasid_free(c);
        r = check_limit_raised();
        if (r != 0)
                return r;

        grants = calloc(ioasid_lease_n_grants(l) ?: 1, sizeof(run_grant));
        if (!grants || collect(l, grants, &f) < 0 || set_env(l, &f) < 0) {
                fprintf(stderr, "ioasid-run: cannot pass the fds on: %s\n", strerror(errno));
                return EXIT_FAILED;
        }
        if (streq(ioasid_lease_backend(l), "legacy") && arg.path_mode <= 0)
                fprintf(stderr, "ioasid-run: note: the broker granted the legacy backend, with a "
                                "group fd and a container fd; QEMU cannot use those and needs "
                                "path mode ({path:ADDR}, or --path-mode).\n");
        r = expand_argv(cmd, &f, false, ioasid_lease_backend(l));
        if (r != 0)
                return r;
        if (arg.verbose) {
                fprintf(stderr, "ioasid-run: lease %s (%s)", ioasid_lease_id(l),
                        ioasid_lease_backend(l));
                if (f.iommufd >= 0)
                        fprintf(stderr, ", iommufd %d", f.iommufd);
                for (size_t i = 0; i < f.n_grants; i++)
                        if (grants[i].path)
                                fprintf(stderr, ", %s %s", grants[i].address, grants[i].path);
                        else
                                fprintf(stderr, ", %s fd %d", grants[i].address,
                                        grants[i].device_fd);
                fputc('\n', stderr);
        }
        execvp(cmd[0], cmd);
        r = errno;
        fprintf(stderr, "ioasid-run: cannot run %s: %s\n", cmd[0], strerror(r));
        return r == ENOENT ? EXIT_NO_COMMAND : EXIT_CANNOT_EXEC;
}
