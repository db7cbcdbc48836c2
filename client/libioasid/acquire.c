/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Acquire and Release. The request is an options object with setters, so that a new request
 * field (a locked-memory budget, say) is a new function, never a changed structure. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ioasid-internal.h"
#include "json-cleanup.h"
#include "macro.h"

struct ioasid_acquire_options {
        char **devices;
        size_t n_devices;
        char *lease;
        int holder_pidfd;
        int managed;            /* -1: not said, so not sent */
        int path_mode;          /* likewise */
        uint64_t locked_memory; /* 0: not asked */
};

struct ioasid_lease {
        json_object *reply;
        int *fds; /* all fds of the reply; grants of one legacy group share one */
        size_t n_fds;
        int iommu_idx; /* index into fds, or -1 */
        int *grant_idx;
        size_t n_grants;
};

int ioasid_acquire_options_new(ioasid_acquire_options **ret)
{
        ioasid_acquire_options *o;

        if (!ret)
                return -EINVAL;
        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->holder_pidfd = -EBADF;
        o->managed = o->path_mode = -1;
        *ret = o;
        return 0;
}

ioasid_acquire_options *ioasid_acquire_options_free(ioasid_acquire_options *o)
{
        if (!o)
                return NULL;
        for (size_t i = 0; i < o->n_devices; i++)
                free(o->devices[i]);
        free(o->devices);
        free(o->lease);
        free(o);
        return NULL;
}

int ioasid_acquire_options_add_device(ioasid_acquire_options *o, const char *address)
{
        char **a, *s;

        if (!o || !address || !*address)
                return -EINVAL;
        s = strdup(address);
        if (!s)
                return -ENOMEM;
        a = reallocarray(o->devices, o->n_devices + 1, sizeof(char *));
        if (!a) {
                free(s);
                return -ENOMEM;
        }
        o->devices = a;
        o->devices[o->n_devices++] = s;
        return 0;
}

int ioasid_acquire_options_set_managed(ioasid_acquire_options *o, bool managed)
{
        if (!o)
                return -EINVAL;
        o->managed = managed;
        return 0;
}

int ioasid_acquire_options_set_path_mode(ioasid_acquire_options *o, bool path_mode)
{
        if (!o)
                return -EINVAL;
        o->path_mode = path_mode;
        return 0;
}

int ioasid_acquire_options_set_locked_memory(ioasid_acquire_options *o, uint64_t bytes)
{
        if (!o)
                return -EINVAL;
        if (bytes > INT64_MAX)
                return -ERANGE;
        o->locked_memory = bytes;
        return 0;
}

int ioasid_acquire_options_set_holder_pidfd(ioasid_acquire_options *o, int pidfd)
{
        if (!o)
                return -EINVAL;
        o->holder_pidfd = pidfd < 0 ? -EBADF : pidfd;
        return 0;
}

int ioasid_acquire_options_set_lease(ioasid_acquire_options *o, const char *lease)
{
        char *s = NULL;

        if (!o)
                return -EINVAL;
        if (lease && !(s = strdup(lease)))
                return -ENOMEM;
        free(o->lease);
        o->lease = s;
        return 0;
}

static int add(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int acquire_params(const ioasid_acquire_options *o, json_object **ret)
{
        _cleanup_json_ json_object *p = json_object_new_object(), *devices = NULL;
        int r = 0;

        devices = json_object_new_array();
        if (!p || !devices)
                return -ENOMEM;
        for (size_t i = 0; i < o->n_devices; i++)
                if (json_object_array_add(devices, json_object_new_string(o->devices[i])) < 0)
                        return -ENOMEM;
        r = add(p, "devices", TAKE_PTR(devices));
        if (r >= 0 && o->lease)
                r = add(p, "lease", json_object_new_string(o->lease));
        if (r >= 0 && o->holder_pidfd >= 0)
                r = add(p, "pidFileDescriptor", json_object_new_int(0));
        if (r >= 0 && o->managed >= 0)
                r = add(p, "managed", json_object_new_boolean(o->managed));
        if (r >= 0 && o->path_mode >= 0)
                r = add(p, "pathMode", json_object_new_boolean(o->path_mode));
        if (r >= 0 && o->locked_memory > 0)
                r = add(p, "lockedMemory", json_object_new_int64((int64_t)o->locked_memory));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

/* An fd index from the reply, checked against the fds that came with it; -1 when absent. */
static int fd_index(json_object *o, const char *key, size_t n_fds, int *ret)
{
        json_object *v;
        int64_t i;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
                *ret = -1;
                return 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return -EBADMSG;
        i = json_object_get_int64(v);
        if (i < 0 || (uint64_t)i >= n_fds)
                return -EBADMSG;
        *ret = (int)i;
        return 0;
}

static int lease_from_reply(vl_reply *reply, ioasid_lease **ret)
{
        _cleanup_(ioasid_lease_freep) ioasid_lease *l = NULL;
        size_t n;
        int r;

        if (!json_get_string(reply->parameters, "lease") ||
            !json_get_string(reply->parameters, "backend"))
                return -EBADMSG;
        n = json_get_array_size(reply->parameters, "grants");
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->iommu_idx = -1;
        l->grant_idx = calloc(n ?: 1, sizeof(int));
        if (!l->grant_idx)
                return -ENOMEM;
        l->n_grants = n;
        l->reply = json_object_get(reply->parameters);
        l->fds = TAKE_PTR(reply->fds);
        l->n_fds = reply->n_fds;
        reply->n_fds = 0;

        r = fd_index(l->reply, "iommuFileDescriptor", l->n_fds, &l->iommu_idx);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                json_object *g = json_get_array_item(l->reply, "grants", i);

                if (!json_object_is_type(g, json_type_object) || !json_get_string(g, "address"))
                        return -EBADMSG;
                r = fd_index(g, "fileDescriptor", l->n_fds, &l->grant_idx[i]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int ioasid_acquire(ioasid *c, const ioasid_acquire_options *o, ioasid_lease **ret)
{
        json_object *params = NULL;
        vl_reply reply;
        int r;

        if (!c || !o || !ret || o->n_devices == 0)
                return -EINVAL;
        r = acquire_params(o, &params);
        if (r < 0)
                return r;
        r = ioasid_call(c, "io.ioasid.Broker.Acquire", params,
                        o->holder_pidfd >= 0 ? &o->holder_pidfd : NULL,
                        o->holder_pidfd >= 0 ? 1 : 0, &reply);
        if (r < 0)
                return r;
        r = lease_from_reply(&reply, ret);
        vl_reply_done(&reply);
        return r;
}

ioasid_lease *ioasid_lease_free(ioasid_lease *l)
{
        if (!l)
                return NULL;
        close_many(l->fds, l->n_fds);
        free(l->fds);
        free(l->grant_idx);
        if (l->reply)
                json_object_put(l->reply);
        free(l);
        return NULL;
}

json_object *ioasid_lease_json(const ioasid_lease *l)
{
        return l ? l->reply : NULL;
}

const char *ioasid_lease_id(const ioasid_lease *l)
{
        return l ? json_get_string(l->reply, "lease") : NULL;
}

const char *ioasid_lease_backend(const ioasid_lease *l)
{
        return l ? json_get_string(l->reply, "backend") : NULL;
}

static int fd_at(const ioasid_lease *l, int idx)
{
        return idx < 0 || l->fds[idx] < 0 ? -1 : l->fds[idx];
}

static int take_at(ioasid_lease *l, int idx)
{
        if (idx < 0 || l->fds[idx] < 0)
                return -ENODATA;
        return TAKE_FD(l->fds[idx]);
}

int ioasid_lease_iommu_fd(const ioasid_lease *l)
{
        return l ? fd_at(l, l->iommu_idx) : -1;
}

int ioasid_lease_take_iommu_fd(ioasid_lease *l)
{
        return l ? take_at(l, l->iommu_idx) : -EINVAL;
}

size_t ioasid_lease_n_grants(const ioasid_lease *l)
{
        return l ? l->n_grants : 0;
}

int ioasid_lease_find_grant(const ioasid_lease *l, const char *address)
{
        for (size_t i = 0; l && i < l->n_grants; i++)
                if (streq(ioasid_lease_grant_address(l, i), address))
                        return (int)i;
        return -ENOENT;
}

static json_object *grant(const ioasid_lease *l, size_t i)
{
        return l && i < l->n_grants ? json_get_array_item(l->reply, "grants", i) : NULL;
}

const char *ioasid_lease_grant_address(const ioasid_lease *l, size_t i)
{
        return json_get_string(grant(l, i), "address");
}

int ioasid_lease_grant_group(const ioasid_lease *l, size_t i)
{
        return json_get_int(grant(l, i), "group", -1);
}

int ioasid_lease_grant_fd(const ioasid_lease *l, size_t i)
{
        return l && i < l->n_grants ? fd_at(l, l->grant_idx[i]) : -1;
}

int ioasid_lease_take_grant_fd(ioasid_lease *l, size_t i)
{
        return l && i < l->n_grants ? take_at(l, l->grant_idx[i]) : -EINVAL;
}

const char *ioasid_lease_grant_path(const ioasid_lease *l, size_t i)
{
        return json_get_string(grant(l, i), "path");
}

int ioasid_release(ioasid *c, const char *lease)
{
        json_object *p;
        vl_reply reply;
        int r;

        if (!c || !lease)
                return -EINVAL;
        p = json_object_new_object();
        if (!p || add(p, "lease", json_object_new_string(lease)) < 0) {
                json_object_put(p);
                return -ENOMEM;
        }
        r = ioasid_call(c, "io.ioasid.Broker.Release", p, NULL, 0, &reply);
        if (r < 0)
                return r;
        vl_reply_done(&reply);
        return 0;
}
