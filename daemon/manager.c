/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "access.h"
#include "admin.h"
#include "audit.h"
#include "backend.h"
#include "broker.h"
#include "config.h"
#include "fake-kernel.h"
#include "lease.h"
#include "log.h"
#include "manager.h"
#include "model.h"
#include "sync.h"

static const events_ops event_ops = {
        .device = sync_device,
        .rescan = sync_rescan,
        .flushed = sync_flushed,
};

static int open_root(const char *path, int *ret)
{
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return log_error_errno(errno, "Cannot open %s: %m", path);
        *ret = fd;
        return 0;
}

/* Group nodes that no path-mode lease holds are root:root 0600 without an ACL: a lessee may have
 * opened one to everyone, and its lease ended while no daemon ran to take the node back. */
static void repair_group_nodes(daemon_state *s)
{
        size_t n;
        const model_group *const *groups = model_groups(s->model, &n);

        if (!s->backend || backend_get_kind(s->backend) != BACKEND_LEGACY)
                return;
        for (size_t i = 0; i < n; i++) {
                int r;

                if (groups[i]->owner && lease_path_mode(groups[i]->owner))
                        continue;
                r = backend_path_repair(s->backend, groups[i]->number);
                if (r < 0)
                        log_warning_errno(r, "Cannot check dev/vfio/%d: %m", groups[i]->number);
        }
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        manager *d = userdata;

        (void)access_reload(&d->state, NULL);
        return 0;
}

static int listen_for_events(manager *d)
{
        int r;

        if (d->config.uevent_socket)
                r = events_listen_socket(d->state.events, d->config.uevent_socket);
        else if (!streq(d->config.sysfs_root, "/sys")) {
                /* The system's events describe the system, not a tree under another root. */
                log_info("sysfs root is %s: not listening to the system's device events",
                         d->config.sysfs_root);
                return 0;
        } else if (access("/run/udev/control", F_OK) == 0)
                r = events_listen_udev(d->state.events);
        else {
                /* No udevd (a VM with a minimal init): the kernel's own messages. */
                log_info("udevd is not running; listening to kernel uevents");
                r = events_listen_kernel(d->state.events);
        }
        if (r < 0)
                return log_error_errno(r, "Cannot listen for device events: %m");
        return 0;
}

int manager_new(const manager_config *config, manager **ret)
{
        static const vl_server_info info = {
                .vendor = "ioasid",
                .product = "ioasidd",
                .version = PROJECT_VERSION,
                .url = PROJECT_URL,
        };
        manager *d;
        const char *reason = NULL;
        sigset_t ss;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return log_oom();
        *ret = d;
        d->config = *config;
        d->state.sysfs_root = config->sysfs_root;
        d->state.policy_dir = config->policy_dir;
        d->sysfs_fd = d->dev_fd = d->state_fd = -EBADF;

        r = open_root(config->sysfs_root, &d->sysfs_fd);
        if (r < 0)
                return r;
        r = open_root(config->dev_root, &d->dev_fd);
        if (r < 0)
                return r;
        if (mkdir(config->state_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Cannot create %s: %m", config->state_dir);
        r = open_root(config->state_dir, &d->state_fd);
        if (r < 0)
                return r;
        r = audit_open(NULL);
        if (r < 0)
                log_warning_errno(r, "Cannot open a socket for the audit trail, opening one per "
                                     "entry: %m");

        r = sd_event_default(&d->state.event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        signal(SIGPIPE, SIG_IGN);
        r = sd_event_add_signal(d->state.event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(d->state.event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(d->state.event, NULL, SIGHUP, on_sighup, d);
        if (r < 0)
                return log_error_errno(r, "Cannot watch signals: %m");

        /* A broken policy must not keep the daemon down: root can still fix and reload it. */
        r = access_reload(&d->state, NULL);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                d->state.policy = policy_new();
                if (!d->state.policy)
                        return log_oom();
                log_warning("Starting with an empty policy: only root may acquire devices.");
        }

        r = monitors_new(&d->state.monitors);
        if (r >= 0)
                r = events_new(d->state.event, &event_ops, &d->state, &d->state.events);
        if (r < 0)
                return log_oom();
        /* Listen before the first scan: a change during it is then seen twice, never missed. */
        r = listen_for_events(d);
        if (r < 0)
                return r;

        r = model_new(d->sysfs_fd, NULL, &d->state.model);
        if (r < 0)
                return log_error_errno(r, "Cannot create the device model: %m");
        r = sync_rescan_now(&d->state);
        if (r < 0)
                return r;

        r = backend_new(config->backend, d->dev_fd, d->sysfs_fd, &d->state.backend, &reason);
        if (r == -EOPNOTSUPP)
                /* Listing and watching devices still works: Acquire says why it cannot. */
                log_warning("No VFIO backend: %s. Devices cannot be acquired.", reason);
        else if (r < 0)
                return log_error_errno(r, "Cannot set up the %s backend: %m", config->backend);
        else
                log_info("VFIO backend: %s (%s).", backend_name(d->state.backend), reason);
        d->state.managed = (managed_sysfs){ .root_fd = d->sysfs_fd };
        if (config->fake_kernel)
                d->state.managed.write = fake_kernel_write,
                d->state.managed.userdata = (void *)config->fake_kernel;
        r = leases_new(&(leases_config){ .event = d->state.event,
                                         .model = d->state.model,
                                         .backend = d->state.backend,
                                         .managed = &d->state.managed,
                                         .state_fd = d->state_fd,
                                         .revoke_timeout_usec = config->revoke_timeout_usec,
                                         .sink = { .event = sync_lease_event,
                                                   .refresh_group = sync_lease_refresh_group,
                                                   .userdata = &d->state } },
                       &d->state.leases);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Cannot open %s: %m", config->state_dir);
        /* Before serving: a group still held by a lease of the last run must look busy. */
        r = leases_restore(d->state.leases);
        if (r < 0)
                return r;
        repair_group_nodes(&d->state);

        r = vl_server_new(d->state.event, &info, &d->state, &d->server);
        if (r >= 0)
                r = vl_server_add_interface(d->server, &broker_interface);
        if (r >= 0)
                r = vl_server_add_interface(d->server, &admin_interface);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the varlink server: %m");
        r = vl_server_listen_auto(d->server, config->socket_path, 0666);
        if (r < 0)
                return log_error_errno(r, "Cannot listen on %s: %m", config->socket_path);
        return 0;
}

manager *manager_free(manager *d)
{
        if (!d)
                return NULL;
        /* Connections first: their disconnect handlers reach into the monitors. */
        vl_server_free(d->server);
        monitors_free(d->state.monitors);
        events_free(d->state.events);
        leases_free(d->state.leases);
        backend_free(d->state.backend);
        model_changes_done(&d->state.changes);
        model_free(d->state.model);
        access_done(&d->state);
        safe_close(d->sysfs_fd);
        safe_close(d->dev_fd);
        safe_close(d->state_fd);
        audit_close();
        sd_event_unref(d->state.event);
        free(d);
        return NULL;
}

int manager_run(manager *d)
{
        int r;

        (void)sd_notify(false, "READY=1\nSTATUS=Serving");
        log_info("Serving on %s (sysfs %s)", d->config.socket_path, d->config.sysfs_root);
        r = sd_event_loop(d->state.event);
        (void)sd_notify(false, "STOPPING=1");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}
