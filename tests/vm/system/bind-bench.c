/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest's side of the system tier's bind benchmark (tests/vm/system/tests/bench.sh): one
 * device moved to vfio-pci and back by ioasidd (a managed Acquire and its Release; Admin.Bind)
 * and by driverctl (set-override, unset-override), round after round, each timed with
 * CLOCK_MONOTONIC; the same writes made here directly in sysfs give the kernel's own part.
 * Between two measures udevd has settled, the device is on its host driver again and the
 * daemon sees it so: no measure pays for the one before. The two tools take turns going first,
 * and a ratio is the median of the rounds' own ratios: the machine's load drifts (a TCG guest
 * on a shared host), and a round's two measures see about the same load.
 *
 * Two diagnostic rows say where the time goes on a guest of one vCPU: the CPU time udevd's
 * processes had inside each tool's bind (their schedstat), and both binds once more with
 * udevd's queue held over the measure (udevadm control --stop-exec-queue). The udev workers that
 * handle the bind's uevents run while the daemon finishes the Acquire, whereas driverctl's bash
 * has exited by then. A real system runs udevd: the rows are not the comparison.
 *
 *   bind-bench SOCKET ADDRESS ROUNDS
 *
 * Prints a markdown table (median, and min-max, in milliseconds) with "BENCH " before each
 * line. Exit status 0 when every step ended as it should. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ioasid.h"
#include "macro.h"

#define MAX_ROUNDS 100

typedef enum measure {
        M_ACQUIRE,      /* managed Acquire: the call until the reply with the fds */
        M_RELEASE,      /* its Release: until the drivers are back */
        M_ADMIN_BIND,   /* Admin.Bind to vfio-pci, one call */
        M_ADMIN_BACK,   /* Admin.Bind to the host driver, one call */
        M_CTL_BIND,     /* ioasidctl bind ADDR vfio-pci, the process */
        M_CTL_BACK,     /* ioasidctl bind ADDR HOST, the process */
        M_CTL_ACQUIRE,  /* ioasidctl acquire ADDR --managed: acquire and release, the process */
        M_DC_SET,       /* driverctl set-override ADDR vfio-pci */
        M_DC_UNSET,     /* driverctl unset-override ADDR */
        M_DC_BOTH,      /* the two, per round */
        M_SYSFS_SET,    /* override, unbind, drivers_probe: here, no process, no daemon */
        M_SYSFS_UNSET,  /* unbind, override cleared, drivers_probe */
        M_EXEC_TRUE,    /* fork and exec of /bin/true */
        M_EXEC_BASH,    /* fork and exec of bash -c : */
        M_UDEV_ACQUIRE, /* udevd's CPU time inside the managed Acquire */
        M_UDEV_DC_SET,  /* udevd's CPU time inside driverctl set-override */
        M_ACQUIRE_HELD, /* managed Acquire, udevd's queue held */
        M_DC_SET_HELD,  /* driverctl set-override, udevd's queue held */
        _M_MAX,
} measure;

static double samples[_M_MAX][MAX_ROUNDS];
static const char *sock, *address;
static char host[64], sysdir[PATH_MAX];

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static _noreturn_ _printf_(1, 2) void fail(const char *fmt, ...)
{
        va_list ap;

        printf("FAILED: ");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        exit(1);
}

/* The driver of the device, from its driver link: "-" for none. */
static const char *driver_now(void)
{
        static char name[64];
        char link[PATH_MAX + 16], target[PATH_MAX];
        ssize_t n;

        snprintf(link, sizeof(link), "%s/driver", sysdir);
        n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
                return "-";
        target[n] = 0;
        snprintf(name, sizeof(name), "%s", strrchr(target, '/') + 1);
        return name;
}

static int write_attr(const char *path, const char *value)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

        if (fd < 0)
                return -errno;
        if (write(fd, value, strlen(value)) < 0)
                r = -errno;
        close(fd);
        return r;
}

static void write_or_die(const char *path, const char *value)
{
        int r = write_attr(path, value);

        if (r < 0) {
                errno = -r;
                fail("writing to %s: %m", path);
        }
}

static void write_device(const char *attr, const char *value)
{
        char path[PATH_MAX + 32];

        snprintf(path, sizeof(path), "%s/%s", sysdir, attr);
        write_or_die(path, value);
}

static void write_driver(const char *driver, const char *attr)
{
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/%s", driver, attr);
        write_or_die(path, address);
}

/* Runs a command, its output to /dev/null; its exit status. */
static int run(char *const argv[])
{
        pid_t pid = fork();
        int status;

        if (pid < 0)
                fail("fork: %m");
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);

                if (null >= 0)
                        dup2(null, STDOUT_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                fail("waitpid: %m");
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static double timed_run(char *const argv[])
{
        double t = now_ms();

        if (run(argv) != 0)
                fail("%s failed", argv[0]);
        return now_ms() - t;
}

/* The daemon's driver for the device ("-" for none); -ENOENT when it does not list it. */
static int daemon_driver(ioasid *c, char *ret, size_t size)
{
        ioasid_device_list *l = NULL;
        int r = ioasid_list_devices(c, &l);

        if (r < 0)
                return r;
        r = -ENOENT;
        for (size_t i = 0; i < ioasid_device_list_size(l); i++) {
                const ioasid_device *d = ioasid_device_list_get(l, i);

                if (streq(ioasid_device_address(d), address)) {
                        snprintf(ret, size, "%s", ioasid_device_driver(d) ?: "-");
                        r = 0;
                }
        }
        ioasid_device_list_free(l);
        return r;
}

/* Untimed, between two measures: the device on driver (by its link), udevd done with the
 * events, the daemon showing the driver too. */
static void settle(ioasid *c, const char *driver)
{
        char *const udevadm[] = { "udevadm", "settle", "--timeout=60", NULL };
        char seen[64] = "";
        double end;

        if (!streq(driver_now(), driver))
                fail("the device is on %s", driver_now());
        if (run(udevadm) != 0)
                fail("udevadm settle failed");
        for (end = now_ms() + 30000; now_ms() < end; usleep(5000))
                if (daemon_driver(c, seen, sizeof(seen)) >= 0 && streq(seen, driver))
                        return;
        fail("the daemon still has the device on %s", seen);
}

static void clear_override(void)
{
        write_device("driver_override", "\n");
}

/* The CPU time (ms) udevd and its workers have had, from their schedstat. */
static double udevd_cpu_ms(void)
{
        DIR *proc = opendir("/proc");
        struct dirent *de;
        double sum = 0;

        if (!proc)
                fail("/proc: %m");
        while ((de = readdir(proc))) {
                char path[300], comm[64] = "";
                unsigned long long ns;
                FILE *f;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                if (!fgets(comm, sizeof(comm), f))
                        comm[0] = 0;
                fclose(f);
                if (!streq(comm, "systemd-udevd\n") && !streq(comm, "(udev-worker)\n"))
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/schedstat", de->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                if (fscanf(f, "%llu", &ns) == 1)
                        sum += (double)ns / 1e6;
                fclose(f);
        }
        closedir(proc);
        return sum;
}

static void udev_queue(bool run_it)
{
        char *const argv[] = { "udevadm", "control",
                               run_it ? "--start-exec-queue" : "--stop-exec-queue", NULL };

        if (run(argv) != 0)
                fail("udevadm control failed");
}

/* A managed Acquire and its Release. With there_held, udevd's queue is held over the Acquire,
 * and the Release is not timed. */
static void managed(ioasid *c, int k, measure there, measure back, bool there_held)
{
        ioasid_acquire_options *o = NULL;
        ioasid_lease *l = NULL;
        char id[64];
        double t, u;

        if (ioasid_acquire_options_new(&o) < 0 ||
            ioasid_acquire_options_add_device(o, address) < 0 ||
            ioasid_acquire_options_set_managed(o, true) < 0)
                fail("acquire options");
        if (there_held)
                udev_queue(false);
        u = udevd_cpu_ms();
        t = now_ms();
        if (ioasid_acquire(c, o, &l) < 0)
                fail("Acquire refused: %s", ioasid_error_message(c));
        samples[there][k] = now_ms() - t;
        if (!there_held)
                samples[M_UDEV_ACQUIRE][k] = udevd_cpu_ms() - u;
        if (there_held)
                udev_queue(true);
        ioasid_acquire_options_free(o);
        if (ioasid_lease_grant_fd(l, 0) < 0 && !ioasid_lease_grant_path(l, 0))
                fail("the grant came without its fd");
        snprintf(id, sizeof(id), "%s", ioasid_lease_id(l));
        /* A VMM done with the device closes it: vfio-pci's unbind waits until then. */
        ioasid_lease_free(l);
        settle(c, "vfio-pci");

        t = now_ms();
        if (ioasid_release(c, id) < 0)
                fail("Release refused: %s", ioasid_error_message(c));
        if (!there_held)
                samples[back][k] = now_ms() - t;
        settle(c, host);
}

static void admin(ioasid *c, int k)
{
        double t = now_ms();

        if (ioasid_bind(c, address, "vfio-pci") < 0)
                fail("Bind refused: %s", ioasid_error_message(c));
        samples[M_ADMIN_BIND][k] = now_ms() - t;
        settle(c, "vfio-pci");
        t = now_ms();
        if (ioasid_bind(c, address, host) < 0)
                fail("Bind back refused: %s", ioasid_error_message(c));
        samples[M_ADMIN_BACK][k] = now_ms() - t;
        /* Admin.Bind leaves driver_override on the host driver; a managed bind refuses a device
         * with someone else's override. */
        clear_override();
        settle(c, host);
}

static void driverctl(ioasid *c, int k, measure there, measure back, bool there_held)
{
        char *const set[] = { "driverctl", "set-override", (char *)address, "vfio-pci", NULL };
        char *const unset[] = { "driverctl", "unset-override", (char *)address, NULL };

        double u;

        if (there_held)
                udev_queue(false);
        u = udevd_cpu_ms();
        samples[there][k] = timed_run(set);
        if (!there_held)
                samples[M_UDEV_DC_SET][k] = udevd_cpu_ms() - u;
        if (there_held)
                udev_queue(true);
        settle(c, "vfio-pci");
        if (there_held) {
                if (run(unset) != 0)
                        fail("driverctl unset-override failed");
        } else
                samples[back][k] = timed_run(unset);
        settle(c, host);
}

static void ioasidctl(ioasid *c, int k)
{
        char *const bind[] = { "ioasidctl", "bind", (char *)address, "vfio-pci", NULL };
        char *const back[] = { "ioasidctl", "bind", (char *)address, host, NULL };
        char *const acquire[] = { "ioasidctl", "acquire", (char *)address, "--managed", NULL };

        samples[M_CTL_BIND][k] = timed_run(bind);
        settle(c, "vfio-pci");
        samples[M_CTL_BACK][k] = timed_run(back);
        clear_override();
        settle(c, host);
        samples[M_CTL_ACQUIRE][k] = timed_run(acquire);
        settle(c, host);
}

static void sysfs(ioasid *c, int k)
{
        double t = now_ms();

        write_device("driver_override", "vfio-pci");
        write_driver(host, "unbind");
        write_or_die("/sys/bus/pci/drivers_probe", address);
        samples[M_SYSFS_SET][k] = now_ms() - t;
        settle(c, "vfio-pci");

        t = now_ms();
        write_driver("vfio-pci", "unbind");
        clear_override();
        write_or_die("/sys/bus/pci/drivers_probe", address);
        samples[M_SYSFS_UNSET][k] = now_ms() - t;
        settle(c, host);
}

static void execs(int k)
{
        char *const exec_true[] = { "/bin/true", NULL };
        char *const exec_bash[] = { "/bin/bash", "-c", ":", NULL };

        samples[M_EXEC_TRUE][k] = timed_run(exec_true);
        samples[M_EXEC_BASH][k] = timed_run(exec_bash);
}

/* The pairs side by side, in turns: even rounds ioasidd first, odd rounds driverctl. */
static void one_round(ioasid *c, int k, bool ours_first)
{
        for (int i = 0; i < 2; i++) {
                if ((i == 0) == ours_first) {
                        managed(c, k, M_ACQUIRE, M_RELEASE, false);
                        admin(c, k);
                } else
                        driverctl(c, k, M_DC_SET, M_DC_UNSET, false);
        }
        samples[M_DC_BOTH][k] = samples[M_DC_SET][k] + samples[M_DC_UNSET][k];
        ioasidctl(c, k);
        sysfs(c, k);
        for (int i = 0; i < 2; i++) {
                if ((i == 0) == ours_first)
                        managed(c, k, M_ACQUIRE_HELD, M_RELEASE, true);
                else
                        driverctl(c, k, M_DC_SET_HELD, M_DC_UNSET, true);
        }
        execs(k);
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

static double median(measure m, int n, double *min, double *max)
{
        double s[MAX_ROUNDS];

        memcpy(s, samples[m], sizeof(double) * (size_t)n);
        qsort(s, (size_t)n, sizeof(double), cmp_double);
        *min = s[0];
        *max = s[n - 1];
        return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void cell(char *buf, size_t size, measure m, int n)
{
        double lo, hi, med = median(m, n, &lo, &hi);

        snprintf(buf, size, "%.1f (%.1f-%.1f)", med, lo, hi);
}

/* The median of the rounds' own ratios. */
static double paired_ratio(measure ours, measure theirs, int n)
{
        double r[MAX_ROUNDS];

        for (int k = 0; k < n; k++)
                r[k] = samples[ours][k] / samples[theirs][k];
        qsort(r, (size_t)n, sizeof(double), cmp_double);
        return n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
}

static void row(const char *what, int ours, int theirs, int n)
{
        char a[64] = "", b[64] = "", ratio[16] = "";

        if (ours >= 0)
                cell(a, sizeof(a), ours, n);
        if (theirs >= 0)
                cell(b, sizeof(b), theirs, n);
        if (ours >= 0 && theirs >= 0 && ours != M_UDEV_ACQUIRE)
                snprintf(ratio, sizeof(ratio), "%.2fx", paired_ratio(ours, theirs, n));
        printf("BENCH | %s | %s | %s | %s |\n", what, a[0] ? a : "", b[0] ? b : "",
               ratio[0] ? ratio : "");
}

int main(int argc, char **argv)
{
        char link[PATH_MAX];
        ioasid *c = NULL;
        int rounds, r;

        if (argc != 4 || (rounds = atoi(argv[3])) < 1 || rounds > MAX_ROUNDS) {
                fprintf(stderr, "usage: bind-bench SOCKET ADDRESS ROUNDS (1-%d)\n", MAX_ROUNDS);
                return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        sock = argv[1];
        address = argv[2];
        snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s", address);
        if (!realpath(link, sysdir))
                fail("no device %s", address);
        snprintf(host, sizeof(host), "%s", driver_now());
        if (streq(host, "-") || streq(host, "vfio-pci"))
                fail("the device is on %s, not on a host driver", host);
        r = ioasid_connect(sock, &c);
        if (r < 0) {
                errno = -r;
                fail("connect %s: %m", sock);
        }
        settle(c, host);
        printf("INFO %s on %s, %d rounds\n", address, host, rounds);

        /* One round untimed: the first of each path pays for page faults and cold caches. */
        for (int k = -1; k < rounds; k++) {
                int i = MAX(k, 0);

                one_round(c, i, k % 2 == 0);
                if (k >= 0)
                        printf("INFO round %d: acquire %.1f release %.1f, driverctl set %.1f "
                               "unset %.1f ms\n",
                               k + 1, samples[M_ACQUIRE][k], samples[M_RELEASE][k],
                               samples[M_DC_SET][k], samples[M_DC_UNSET][k]);
        }

        printf("BENCH | ms, median (min-max) of %d rounds | ioasidd | driverctl | "
               "ratio (median of the rounds') |\n",
               rounds);
        printf("BENCH | --- | --- | --- | --- |\n");
        row("managed Acquire (call until the reply with fds) / set-override", M_ACQUIRE, M_DC_SET,
            rounds);
        row("its Release (until back on the host driver) / unset-override", M_RELEASE, M_DC_UNSET,
            rounds);
        row("Admin.Bind vfio-pci (call) / set-override", M_ADMIN_BIND, M_DC_SET, rounds);
        row("Admin.Bind back to the host driver (call) / unset-override", M_ADMIN_BACK, M_DC_UNSET,
            rounds);
        row("`ioasidctl bind ADDR vfio-pci` (process) / set-override", M_CTL_BIND, M_DC_SET,
            rounds);
        row("`ioasidctl bind ADDR HOST` (process) / unset-override", M_CTL_BACK, M_DC_UNSET,
            rounds);
        row("`ioasidctl acquire --managed` (acquire and release, process) / set + unset",
            M_CTL_ACQUIRE, M_DC_BOTH, rounds);
        row("floor: the three sysfs writes to vfio-pci, in-process", M_SYSFS_SET, -1, rounds);
        row("floor: the three sysfs writes back, in-process", M_SYSFS_UNSET, -1, rounds);
        row("floor: fork+exec /bin/true", M_EXEC_TRUE, -1, rounds);
        row("floor: fork+exec bash -c :", -1, M_EXEC_BASH, rounds);
        row("diagnostic: udevd's CPU time inside managed Acquire / set-override", M_UDEV_ACQUIRE,
            M_UDEV_DC_SET, rounds);
        row("diagnostic, udevd's queue held: managed Acquire / set-override", M_ACQUIRE_HELD,
            M_DC_SET_HELD, rounds);
        ioasid_free(c);
        return 0;
}
