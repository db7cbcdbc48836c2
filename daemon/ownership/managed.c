/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "managed.h"

#define DRIVERS_DIR   "bus/pci/drivers/"
#define DRIVERS_PROBE "bus/pci/drivers_probe"

/* How far a bind got: undo starts from there. Each step counts as begun before its write, since
 * a failed write may still have been acted on. */
typedef enum bind_step {
        STEP_NONE,
        STEP_OVERRIDE, /* driver_override set */
        STEP_UNBIND,   /* unbound from the original driver */
        STEP_PROBE,    /* probed */
} bind_step;

typedef struct device_dir {
        int fd; /* O_PATH */
        char path[PATH_MAX];
} device_dir;

static void device_dir_done(device_dir *d)
{
        d->fd = safe_close(d->fd);
}

static int error_set(char **ret_error, int r, const char *address, const char *fmt, ...)
        _printf_(4, 5);

/* The first error wins: later ones come from undoing it. */
static int error_set(char **ret_error, int r, const char *address, const char *fmt, ...)
{
        _cleanup_free_ char *step = NULL;
        va_list ap;
        int k;

        if (!ret_error || *ret_error)
                return r;
        va_start(ap, fmt);
        k = vasprintf(&step, fmt, ap);
        va_end(ap);
        if (k < 0 || asprintf(ret_error, "%s: %s: %s", address, step, strerror(-r)) < 0)
                *ret_error = NULL;
        return r;
}

int managed_write(const managed_sysfs *s, const char *path, const char *value)
{
        log_debug("Writing \"%s\" to %s.", value[0] == '\n' ? "\\n" : value, path);
        if (s->write)
                return s->write(s->root_fd, path, value, s->userdata);
        return sysfs_write_attr(s->root_fd, path, value);
}

static int device_write(const managed_sysfs *s, const device_dir *d, const char *attr,
                        const char *value)
{
        char path[PATH_MAX + 32];

        if ((size_t)snprintf(path, sizeof(path), "%s/%s", d->path, attr) >= sizeof(path))
                return -ENAMETOOLONG;
        return managed_write(s, path, value);
}

static int driver_write(const managed_sysfs *s, const char *driver, const char *attr,
                        const char *address)
{
        char path[sizeof(DRIVERS_DIR) + SYSFS_NAME_MAX + 16];

        snprintf(path, sizeof(path), DRIVERS_DIR "%s/%s", driver, attr);
        return managed_write(s, path, address);
}

/* The driver a device is bound to, from its driver link: "" for none. The link is resolved as
 * text and must land in bus/pci/drivers/, so a name from it is safe in a path. */
static int device_driver(const device_dir *d, char ret[static SYSFS_NAME_MAX + 1])
{
        char target[PATH_MAX], resolved[PATH_MAX];
        const char *name;
        ssize_t n;
        int r;

        n = readlinkat(d->fd, "driver", target, sizeof(target));
        if (n < 0 && errno == ENOENT) {
                ret[0] = 0;
                return 0;
        }
        if (n < 0)
                return negative_errno();
        if ((size_t)n >= sizeof(target))
                return -ENAMETOOLONG;
        target[n] = 0;
        r = sysfs_link_resolve(d->path, target, resolved, sizeof(resolved));
        if (r < 0)
                return r;
        name = resolved + strlen(DRIVERS_DIR);
        if (strncmp(resolved, DRIVERS_DIR, strlen(DRIVERS_DIR)) != 0 || strchr(name, '/') ||
            !sysfs_name_valid(name))
                return -EXDEV;
        strcpy(ret, name);
        return 0;
}

static int device_open(const managed_sysfs *s, const char *address, device_dir *ret)
{
        ret->fd = -EBADF;
        return sysfs_open_device(s->root_fd, address, &ret->fd, ret->path);
}

static bool is_vfio_driver(const managed_sysfs *s, const char *driver)
{
        return driver[0] && viability_classify(s->cfg ?: &viability_config_default, driver) ==
                                    VIABILITY_DRIVER_VFIO;
}

static int bind_one(const managed_sysfs *s, const char *address, managed_device *m, bind_step *step,
                    char **err)
{
        _cleanup_(device_dir_done) device_dir d = { .fd = -EBADF };
        char override[SYSFS_NAME_MAX + 2], now[SYSFS_NAME_MAX + 1];
        const char *orig = m->original_driver;
        int r;

        *step = STEP_NONE;
        r = device_open(s, address, &d);
        if (r < 0)
                return error_set(err, r, address, "opening its sysfs directory");
        r = device_driver(&d, m->original_driver);
        if (r < 0)
                return error_set(err, r, address, "reading its driver link");
        if (is_vfio_driver(s, orig)) {
                log_debug("%s is on %s already; leaving it.", address, orig);
                return 0;
        }
        r = sysfs_read_attr(d.fd, "driver_override", override, sizeof(override));
        if (r < 0)
                return error_set(err, r, address, "reading driver_override");
        if (override[0] && !streq(override, "(null)") && !streq(override, MANAGED_DRIVER))
                return error_set(err, -EBUSY, address, "driver_override is set to %s already",
                                 override);
        m->changed = true;

        *step = STEP_OVERRIDE;
        r = device_write(s, &d, "driver_override", MANAGED_DRIVER);
        if (r < 0)
                return error_set(err, r, address, "setting driver_override to " MANAGED_DRIVER);
        if (orig[0]) {
                *step = STEP_UNBIND;
                r = driver_write(s, orig, "unbind", address);
                if (r < 0)
                        return error_set(err, r, address, "unbinding it from %s", orig);
        }
        *step = STEP_PROBE;
        r = managed_write(s, DRIVERS_PROBE, address);
        if (r < 0)
                return error_set(err, r, address, "probing it");
        r = device_driver(&d, now);
        if (r < 0)
                return error_set(err, r, address, "reading its driver link after probing");
        if (!streq(now, MANAGED_DRIVER))
                return error_set(err, -ENODEV, address, "%s%s after probing",
                                 now[0] ? "bound to " : "", now[0] ? now : "no driver took it");
        log_debug("%s is on " MANAGED_DRIVER " now, was on %s.", address, orig[0] ? orig : "none");
        return 0;
}

/* Back to the original driver from wherever step left it. Vanished devices need nothing. */
static int unbind_one(const managed_sysfs *s, const managed_device *m, bind_step step, char **err)
{
        _cleanup_(device_dir_done) device_dir d = { .fd = -EBADF };
        const char *orig = m->original_driver;
        char now[SYSFS_NAME_MAX + 1];
        int r, ret = 0;

        if (!m->changed || step == STEP_NONE)
                return 0;
        r = device_open(s, m->address, &d);
        if (r == -ENOENT) {
                log_debug("%s is gone; nothing to restore.", m->address);
                return 0;
        }
        if (r < 0)
                return error_set(err, r, m->address, "opening its sysfs directory");
        r = device_driver(&d, now);
        if (r < 0)
                return error_set(err, r, m->address, "reading its driver link");
        if (now[0] && !streq(now, orig)) {
                r = driver_write(s, now, "unbind", m->address);
                if (r < 0)
                        ret = error_set(err, r, m->address, "unbinding it from %s", now);
        }
        /* Cleared even after a failed unbind: no later probe should pick vfio-pci for it. */
        r = device_write(s, &d, "driver_override", "\n");
        if (r < 0 && ret == 0)
                ret = error_set(err, r, m->address, "clearing driver_override");
        if (ret < 0 || !orig[0])
                return ret;

        r = device_driver(&d, now);
        if (r >= 0 && !now[0]) {
                (void)managed_write(s, DRIVERS_PROBE, m->address);
                r = device_driver(&d, now);
        }
        /* Probing picks the best match, normally the original; if it picked none, ask it. */
        if (r >= 0 && !now[0]) {
                (void)driver_write(s, orig, "bind", m->address);
                r = device_driver(&d, now);
        }
        if (r < 0)
                return error_set(err, r, m->address, "reading its driver link after probing");
        if (!streq(now, orig))
                return error_set(err, -ENODEV, m->address, "putting it back on %s (it is on %s)",
                                 orig, now[0] ? now : "no driver");
        return 0;
}

int managed_bind(const managed_sysfs *s, const char *const *addresses, size_t n,
                 managed_device *ret, char **ret_error)
{
        bind_step step = STEP_NONE;
        size_t i;
        int r = 0;

        if (ret_error)
                *ret_error = NULL;
        for (i = 0; i < n; i++) {
                if (!pci_address_valid_str(addresses[i]))
                        return error_set(ret_error, -EINVAL, "(device)", "not a PCI address");
                for (size_t j = 0; j < i; j++)
                        if (streq(addresses[i], addresses[j]))
                                return error_set(ret_error, -EINVAL, addresses[i], "listed twice");
                ret[i] = (managed_device){};
                strcpy(ret[i].address, addresses[i]);
        }

        for (i = 0; i < n; i++) {
                r = bind_one(s, addresses[i], &ret[i], &step, ret_error);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                return 0;

        /* All or nothing: the failed device from where it stopped, then the others, newest
         * first. */
        for (size_t k = i + 1; k-- > 0;) {
                char *undo_error = NULL;
                int u = unbind_one(s, &ret[k], k == i ? step : STEP_PROBE, &undo_error);

                if (u < 0)
                        log_warning_errno(u, "Undoing the vfio-pci bind: %s",
                                          undo_error ?: ret[k].address);
                free(undo_error);
        }
        return r;
}

int managed_restore(const managed_sysfs *s, const managed_device *devices, size_t n,
                    char **ret_error)
{
        int ret = 0;

        if (ret_error)
                *ret_error = NULL;
        for (size_t k = n; k-- > 0;) {
                int r = unbind_one(s, &devices[k], STEP_PROBE, ret_error);

                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}
