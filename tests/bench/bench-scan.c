/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How long a full scan takes and what the model costs, on generated trees of 1k, 4k and 16k
 * devices (four per group), next to a floor: a bare walk that only lists bus/pci/devices and
 * reads each device's link, driver and iommu_group links, without any checking. Each size runs
 * in its own process so that its RSS is its own. Then, on 16k devices in 4,096 groups: one pass
 * over all groups with their members' devices (what ListGroups does), lookups, and one update.
 *
 * Usage: bench-scan PYTHON MKFAKESYS [DEVICES...] */
#include <dirent.h>
#include <errno.h>
#include <time.h>

#include "../fakesys/fakesys.h"
#include "bench.h"
#include "log.h"
#include "model.h"
#include "tests.h"

static const char *python, *script;

/* The least work that learns each device's driver and group. */
static size_t floor_walk(int sys_fd)
{
        static const char *const links[] = { "", "/driver", "/iommu_group" };
        char path[300], buf[4096];
        size_t n = 0;
        int fd = openat(sys_fd, "bus/pci/devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fdopendir(fd);
        struct dirent *de;

        ASSERT_TRUE(d);
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                        snprintf(path, sizeof(path), "%s%s", de->d_name, links[i]);
                        /* Driver-less devices have no driver link: count what was found. */
                        n += readlinkat(dirfd(d), path, buf, sizeof(buf)) > 0 && i == 0;
                }
        }
        closedir(d);
        return n;
}

static void bench_size(const char *devices)
{
        char groups[32];
        fakesys f;
        model *m = NULL;
        double t0, t_gen, t_floor, t_scan, t_rescan;
        long rss0, rss1;

        snprintf(groups, sizeof(groups), "%d", atoi(devices) / 4);
        t0 = now_ms();
        fakesys_new(&f, python, script, "--layout", "scale", "--devices", devices, "--groups",
                    groups);
        t_gen = now_ms() - t0;

        /* Warm the dentry cache the same way for all: the daemon scans a tree the kernel has. */
        (void)floor_walk(f.sys_fd);
        t0 = now_ms();
        ASSERT_EQ(floor_walk(f.sys_fd), (size_t)atoi(devices));
        t_floor = now_ms() - t0;

        rss0 = rss_kib(0);
        ASSERT_OK(model_new(f.sys_fd, NULL, &m));
        t0 = now_ms();
        ASSERT_OK(model_scan(m, NULL));
        t_scan = now_ms() - t0;
        rss1 = rss_kib(0);
        ASSERT_EQ(model_n_devices(m), (size_t)atoi(devices));
        t0 = now_ms();
        ASSERT_OK(model_scan(m, NULL));
        t_rescan = now_ms() - t0;

        printf("%7s %6s %8.1f %9.1f %9.1f %10.1f %8.1f %9.1f\n", devices, groups, t_gen / 1e3,
               t_floor, t_scan, t_rescan, (double)rss1 / 1024, (double)(rss1 - rss0) / 1024);
        fflush(stdout);
        model_free(m);
        fakesys_free(&f);
}

static void bench_groups(void)
{
        fakesys f;
        model *m = NULL;
        const model_device *const *devs;
        const model_group *const *groups;
        size_t n_groups, n_devs, members = 0;
        double t0, t_iter, t_lookup, t_update;
        const int passes = 100, updates = 1000;

        fakesys_new(&f, python, script, "--layout", "scale", "--devices", "16384", "--groups",
                    "4096");
        ASSERT_OK(model_new(f.sys_fd, NULL, &m));
        ASSERT_OK(model_scan(m, NULL));

        t0 = now_ms();
        for (int p = 0; p < passes; p++) {
                groups = model_groups(m, &n_groups);
                for (size_t i = 0; i < n_groups; i++)
                        for (size_t j = 0; j < groups[i]->n_devices; j++)
                                members += model_group_device(m, groups[i], j) != NULL;
        }
        t_iter = (now_ms() - t0) / passes;
        ASSERT_EQ(members, (size_t)passes * 16384);

        devs = model_devices(m, &n_devs);
        t0 = now_ms();
        for (size_t i = 0; i < n_devs; i++)
                ASSERT_TRUE(model_find_device(m, devs[i]->address) == devs[i]);
        t_lookup = (now_ms() - t0) * 1e6 / (double)n_devs;

        t0 = now_ms();
        for (int i = 0; i < updates; i++)
                ASSERT_OK(model_update_device(m, devs[(size_t)i * 16 % n_devs]->address, NULL));
        t_update = (now_ms() - t0) * 1e3 / updates;

        printf("\n%zu groups, %zu devices:\n", n_groups, n_devs);
        printf("  iterate all groups and their devices  %8.3f ms per pass\n", t_iter);
        printf("  model_find_device()                   %8.0f ns each\n", t_lookup);
        printf("  model_update_device() + group re-read %8.1f us each\n", t_update);
        model_free(m);
        fakesys_free(&f);
}

int main(int argc, char **argv)
{
        static const char *const sizes[] = { "1024", "4096", "16384" };
        const char *const *list = sizes;
        size_t n = ELEMENTSOF(sizes);

        ASSERT_TRUE(argc >= 3);
        python = argv[1];
        script = argv[2];
        if (argc > 3) {
                list = (const char *const *)argv + 3;
                n = (size_t)argc - 3;
        }
        log_set_max_level(LOG_WARNING);

        printf("devices groups  gen(s) floor(ms)  scan(ms) rescan(ms) rss(MiB) model(MiB)\n");
        fflush(stdout);
        for (size_t i = 0; i < n; i++) {
                pid_t pid = fork();
                int status;

                ASSERT_TRUE(pid >= 0);
                if (pid == 0) {
                        bench_size(list[i]);
                        _exit(0);
                }
                ASSERT_TRUE(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                            WEXITSTATUS(status) == 0);
        }
        bench_groups();
        return 0;
}
