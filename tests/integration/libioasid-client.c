/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libioasid against the real daemon, through the public header and the shared library, as a VMM
 * uses it. Run by test-libioasid.py on a fake tree where group 2 (0000:00:03.0 and .1) has
 * been made viable and group 3 has not.
 * usage: libioasid-client SOCKET DEV_ROOT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ioasid.h"
#include "tests.h"

static const char *sock, *dev_root;

/* Events until one of kind (and lease, if given); fails after a generous bound. */
static void wait_event(ioasid_monitor *m, const char *kind, const char *lease)
{
        for (int polls = 0; polls < 300; polls++) {
                struct pollfd p = { .fd = ioasid_monitor_get_fd(m), .events = POLLIN };
                ioasid_event *e;
                int r;

                ASSERT_TRUE(poll(&p, 1, 100) >= 0);
                while ((r = ioasid_monitor_process(m, &e)) > 0) {
                        bool match = strcmp(ioasid_event_kind(e), kind) == 0 &&
                                     (!lease || (ioasid_event_lease(e) &&
                                                 strcmp(ioasid_event_lease(e), lease) == 0));

                        ioasid_event_free(e);
                        if (match)
                                return;
                }
                ASSERT_OK(r);
        }
        fprintf(stderr, "no %s event\n", kind);
        abort();
}

static bool same_node(int fd, const char *rel)
{
        char path[4096];
        struct stat a, b;

        snprintf(path, sizeof(path), "%s/%s", dev_root, rel);
        return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
}

static const ioasid_group *find_group(const ioasid_group_list *l, int number)
{
        for (size_t i = 0; i < ioasid_group_list_size(l); i++)
                if (ioasid_group_number(ioasid_group_list_get(l, i)) == number)
                        return ioasid_group_list_get(l, i);
        return NULL;
}

static void test_inventory(ioasid *c)
{
        ioasid_group_list *groups, *one;
        ioasid_device_list *devices;
        const ioasid_group *g;
        ioasid_status *status;
        const char *version;
        size_t n = 0;

        ASSERT_OK(ioasid_get_version(c, &version));
        ASSERT_STREQ(version, "0.1");
        ASSERT_OK(ioasid_get_status(c, &status));
        ASSERT_STREQ(ioasid_status_version(status), "0.1");
        ASSERT_STREQ(ioasid_status_backend(status), "iommufd");
        ASSERT_EQ(ioasid_status_devices(status), 16);
        ASSERT_EQ(ioasid_status_leases(status), 0);
        ASSERT_TRUE(ioasid_status_groups(status) >= ioasid_status_viable_groups(status) &&
                    ioasid_status_viable_groups(status) > 0);
        ioasid_status_free(status);
        ASSERT_OK(ioasid_list_groups(c, &groups));
        g = find_group(groups, 2);
        ASSERT_TRUE(g && ioasid_group_viable(g) && ioasid_group_n_reasons(g) == 0);
        ASSERT_STREQ(ioasid_group_type(g), "DMA");
        ASSERT_FALSE(ioasid_group_dma_blocked(g));
        ASSERT_EQ(ioasid_group_owner(g, NULL, NULL, NULL), -ENODATA);
        ASSERT_EQ(ioasid_group_n_devices(g), 2);
        ASSERT_STREQ(ioasid_device_address(ioasid_group_device(g, 0)), "0000:00:03.0");
        ASSERT_STREQ(ioasid_device_driver(ioasid_group_device(g, 0)), "vfio-pci");
        g = find_group(groups, 3);
        ASSERT_TRUE(g && !ioasid_group_viable(g) && ioasid_group_n_reasons(g) == 2);
        ASSERT_TRUE(strstr(ioasid_group_reason(g, 0), "is bound to e1000"));
        for (size_t i = 0; i < ioasid_group_list_size(groups); i++)
                n += ioasid_group_n_devices(ioasid_group_list_get(groups, i));

        ASSERT_OK(ioasid_list_devices(c, &devices));
        ASSERT_EQ(ioasid_device_list_size(devices), n);
        for (size_t i = 0; i < n; i++) {
                const ioasid_device *d = ioasid_device_list_get(devices, i);

                if (strcmp(ioasid_device_address(d), "0000:00:03.1") != 0)
                        continue;
                ASSERT_EQ(ioasid_device_group(d), 2);
                ASSERT_STREQ(ioasid_device_vendor(d), "0x1af4");
                ASSERT_STREQ(ioasid_device_id(d), "0x1041");
                ASSERT_STREQ(ioasid_device_class(d), "0x020000");
                ASSERT_TRUE(ioasid_device_cdev(d) != NULL);
        }
        ioasid_device_list_free(devices);

        ASSERT_OK(ioasid_get_group(c, 3, &one));
        ASSERT_EQ(ioasid_group_list_size(one), 1);
        ASSERT_EQ(ioasid_group_number(ioasid_group_list_get(one, 0)), 3);
        ioasid_group_list_free(one);
        ASSERT_ERROR(ioasid_get_group(c, 999, &one), ENOENT);
        ASSERT_STREQ(ioasid_error_name(c), "io.ioasid.Broker.NoSuchGroup");
        ASSERT_EQ(ioasid_error_group(c), 999);
        ioasid_group_list_free(groups);
}

static void test_acquire_release(ioasid *c, ioasid_monitor *m)
{
        ioasid_acquire_options *o;
        ioasid_lease *l, *l2;
        ioasid_group_list *groups;
        const char *lease;
        char cdev[64];
        uid_t uid;
        pid_t pid;

        ASSERT_OK(ioasid_acquire_options_new(&o));
        ASSERT_OK(ioasid_acquire_options_add_device(o, "0000:00:03.1"));
        ASSERT_OK(ioasid_acquire(c, o, &l));
        ASSERT_STREQ(ioasid_lease_backend(l), "iommufd");
        ASSERT_TRUE(same_node(ioasid_lease_iommu_fd(l), "iommu"));
        ASSERT_EQ(ioasid_lease_n_grants(l), 1);
        ASSERT_OK(ioasid_get_group(c, 2, &groups));
        snprintf(cdev, sizeof(cdev), "vfio/devices/%s",
                 ioasid_device_cdev(ioasid_group_device(ioasid_group_list_get(groups, 0), 1)));
        ASSERT_TRUE(same_node(ioasid_lease_grant_fd(l, 0), cdev));
        ASSERT_OK(ioasid_group_owner(ioasid_group_list_get(groups, 0), &uid, &pid, &lease));
        ASSERT_EQ(uid, getuid());
        ASSERT_EQ(pid, getpid());
        ASSERT_STREQ(lease, ioasid_lease_id(l));
        ioasid_group_list_free(groups);
        wait_event(m, "leaseAcquired", ioasid_lease_id(l));

        /* The other function of the group: busy for a new lease, fine for the same one. */
        ioasid_acquire_options_free(o);
        ASSERT_OK(ioasid_acquire_options_new(&o));
        ASSERT_OK(ioasid_acquire_options_add_device(o, "0000:00:03.0"));
        ASSERT_ERROR(ioasid_acquire(c, o, &l2), EBUSY);
        ASSERT_STREQ(ioasid_error_name(c), "io.ioasid.Broker.GroupBusy");
        ASSERT_OK(ioasid_error_owner(c, NULL, &pid, &lease));
        ASSERT_EQ(pid, getpid());
        ASSERT_STREQ(lease, ioasid_lease_id(l));
        ASSERT_OK(ioasid_acquire_options_set_lease(o, ioasid_lease_id(l)));
        ASSERT_OK(ioasid_acquire(c, o, &l2));
        ASSERT_STREQ(ioasid_lease_id(l2), ioasid_lease_id(l));
        ASSERT_EQ(ioasid_lease_find_grant(l2, "0000:00:03.0"), 0);
        ioasid_lease_free(l2);

        ASSERT_OK(ioasid_release(c, ioasid_lease_id(l)));
        wait_event(m, "leaseReleased", ioasid_lease_id(l));
        ASSERT_OK(ioasid_get_group(c, 2, &groups));
        ASSERT_EQ(ioasid_group_owner(ioasid_group_list_get(groups, 0), NULL, NULL, NULL), -ENODATA);
        ioasid_group_list_free(groups);
        ASSERT_ERROR(ioasid_release(c, ioasid_lease_id(l)), ENOENT);
        ASSERT_STREQ(ioasid_error_lease(c), ioasid_lease_id(l));
        ioasid_lease_free(l);

        /* Not viable: the reasons come with the refusal. */
        ioasid_acquire_options_free(o);
        ASSERT_OK(ioasid_acquire_options_new(&o));
        ASSERT_OK(ioasid_acquire_options_add_device(o, "0000:01:01.0"));
        ASSERT_ERROR(ioasid_acquire(c, o, &l), EPERM);
        ASSERT_EQ(ioasid_error_group(c), 3);
        ASSERT_EQ(ioasid_error_n_reasons(c), 2);
        ASSERT_TRUE(strstr(ioasid_error_reason_at(c, 1), "0000:01:02.0 is bound to e1000"));
        /* Path mode needs the legacy backend. */
        ASSERT_OK(ioasid_acquire_options_set_path_mode(o, true));
        ASSERT_OK(ioasid_acquire_options_set_managed(o, true));
        ASSERT_ERROR(ioasid_acquire(c, o, &l), EOPNOTSUPP);
        ASSERT_TRUE(ioasid_error_message(c) != NULL);
        ioasid_acquire_options_free(o);
}

static void test_holder_pidfd(ioasid *c, ioasid_monitor *m)
{
        ioasid_acquire_options *o;
        ioasid_group_list *groups;
        ioasid_lease *l;
        pid_t parent = getpid(), child = fork(), pid;
        int pidfd;

        ASSERT_TRUE(child >= 0);
        if (child == 0) {
                /* Should this test fail, the holder must neither outlive it nor keep its
                 * output open (the test runner waits for that). */
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(0);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                pause();
                _exit(0);
        }
        pidfd = (int)syscall(SYS_pidfd_open, child, 0);
        ASSERT_TRUE(pidfd >= 0);
        ASSERT_OK(ioasid_acquire_options_new(&o));
        ASSERT_OK(ioasid_acquire_options_add_device(o, "0000:00:03.1"));
        ASSERT_OK(ioasid_acquire_options_set_holder_pidfd(o, pidfd));
        ASSERT_OK(ioasid_acquire(c, o, &l));
        ASSERT_OK(ioasid_get_group(c, 2, &groups));
        ASSERT_OK(ioasid_group_owner(ioasid_group_list_get(groups, 0), NULL, &pid, NULL));
        ASSERT_EQ(pid, child);
        ioasid_group_list_free(groups);
        /* The holder's exit ends the lease. */
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        wait_event(m, "leaseReleased", ioasid_lease_id(l));
        ioasid_lease_free(l);
        ioasid_acquire_options_free(o);
        close(pidfd);
}

static void test_admin(ioasid *c, ioasid_monitor *m)
{
        ioasid_policy_verdict *v;

        ASSERT_OK(ioasid_check_policy(c, 65534, "0000:00:03.1", &v));
        ASSERT_FALSE(ioasid_policy_verdict_allowed(v));
        ASSERT_TRUE(ioasid_policy_verdict_rule(v) == NULL);
        ASSERT_TRUE(strstr(ioasid_policy_verdict_reason(v), "no rule grants uid 65534"));
        ioasid_policy_verdict_free(v);
        ASSERT_OK(ioasid_check_policy(c, 0, "0000:00:03.1", &v));
        ASSERT_TRUE(ioasid_policy_verdict_allowed(v));
        ioasid_policy_verdict_free(v);
        ASSERT_ERROR(ioasid_check_policy(c, 0, "0000:99:00.0", &v), ENOENT);
        ASSERT_STREQ(ioasid_error_address(c), "0000:99:00.0");

        ASSERT_EQ(ioasid_reload_policy(c), 0);
        ASSERT_OK(ioasid_rescan(c));
        wait_event(m, "rescanned", NULL);
        ASSERT_OK(ioasid_unbind(c, "0000:01:02.0"));
        wait_event(m, "driverChanged", NULL);
        ASSERT_OK(ioasid_bind(c, "0000:01:02.0", "vfio-pci"));
        ASSERT_ERROR(ioasid_bind(c, "0000:01:02.0", "no-such-driver"), EIO);
        ASSERT_STREQ(ioasid_error_name(c), "io.ioasid.Admin.BindFailed");
        ASSERT_TRUE(ioasid_error_message(c) != NULL);
        ASSERT_ERROR(ioasid_revoke(c, "0123456789abcdef0123456789abcdef"), ENOENT);
        ASSERT_STREQ(ioasid_error_name(c), "io.ioasid.Admin.NoSuchLease");
}

int main(int argc, char **argv)
{
        ioasid_monitor *m;
        ioasid_event *e;
        ioasid *c;

        if (argc != 3)
                return 2;
        sock = argv[1];
        dev_root = argv[2];
        ASSERT_OK(ioasid_connect(sock, &c));
        ASSERT_OK(ioasid_monitor_new(sock, &m));
        /* The first event is "ready"; block for it the way an event loop would. */
        for (;;) {
                struct pollfd p = { .fd = ioasid_monitor_get_fd(m), .events = POLLIN };
                int r;

                ASSERT_TRUE(poll(&p, 1, 30000) == 1);
                r = ioasid_monitor_process(m, &e);
                ASSERT_OK(r);
                if (r > 0)
                        break;
        }
        ASSERT_STREQ(ioasid_event_kind(e), "ready");
        ioasid_event_free(e);

        test_inventory(c);
        test_acquire_release(c, m);
        test_holder_pidfd(c, m);
        test_admin(c, m);
        ioasid_monitor_free(m);
        ioasid_free(c);
        return 0;
}
