/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VMM's side of the VM tier, inside the guest: calls ioasidd over its socket and proves the
 * fds it gets work with the real kernel.
 *
 *   vm-client SOCKET groups                     "GROUP viable|blocked ADDR=DRIVER ..." per group
 *   vm-client SOCKET acquire ADDR [managed]     acquires, uses the fds, prints "granted LEASE
 *                                               BACKEND", then holds them until killed
 *   vm-client SOCKET refused ERROR ADDR         the acquire must fail with ERROR; prints its
 *                                               parameters
 *   vm-client SOCKET release LEASE
 *   vm-client SOCKET revoke LEASE               io.ioasid.Admin.Revoke
 *
 * Using the fds: iommufd (VFIO_DEVICE_BIND_IOMMUFD of the cdev, IOMMU_IOAS_ALLOC,
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT), legacy (VFIO_GROUP_GET_DEVICE_FD from the group fd, whose
 * container the daemon has set). Exit status 0 when all went as asked. */
#include <errno.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "client.h"
#include "json-cleanup.h"
#include "macro.h"

static const char *str(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static int num(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) ? json_object_get_int(v) : -1;
}

static int call(vl_client *c, const char *method, json_object *params, vl_reply *r)
{
        int k = vl_client_call(c, method, params, NULL, 0, r);

        if (k < 0) {
                fprintf(stderr, "%s: %s\n", method, strerror(-k));
                exit(1);
        }
        return r->error ? -1 : 0;
}

static int groups(vl_client *c)
{
        vl_reply r;
        json_object *a;

        if (call(c, "io.ioasid.Broker.ListGroups", NULL, &r) < 0 ||
            !json_object_object_get_ex(r.parameters, "groups", &a))
                return 1;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *g = json_object_array_get_idx(a, i), *devices, *v;

                printf("%d %s", num(g, "group"),
                       json_object_object_get_ex(g, "viable", &v) && json_object_get_boolean(v)
                               ? "viable"
                               : "blocked");
                if (json_object_object_get_ex(g, "owner", &v))
                        printf(" owner=%s", str(v, "lease"));
                if (json_object_object_get_ex(g, "devices", &devices))
                        for (size_t j = 0; j < json_object_array_length(devices); j++) {
                                json_object *d = json_object_array_get_idx(devices, j);

                                printf(" %s=%s", str(d, "address"), str(d, "driver") ?: "-");
                        }
                printf("\n");
        }
        vl_reply_done(&r);
        return 0;
}

static json_object *acquire_params(const char *address, bool managed)
{
        json_object *p = json_object_new_object(), *a = json_object_new_array();

        json_object_array_add(a, json_object_new_string(address));
        json_object_object_add(p, "devices", a);
        if (managed)
                json_object_object_add(p, "managed", json_object_new_boolean(true));
        return p;
}

static int use_iommufd(int iommufd, int cdev)
{
        struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
        struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
        struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };

        if (ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0) {
                perror("VFIO_DEVICE_BIND_IOMMUFD");
                return -1;
        }
        if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc) < 0) {
                perror("IOMMU_IOAS_ALLOC");
                return -1;
        }
        attach.pt_id = alloc.out_ioas_id;
        if (ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0) {
                perror("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
                return -1;
        }
        printf("bound devid %u, ioas %u attached\n", bind.out_devid, alloc.out_ioas_id);
        return 0;
}

static int use_legacy(int group, const char *address)
{
        struct vfio_group_status status = { .argsz = sizeof(status) };
        int device;

        if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0) {
                perror("VFIO_GROUP_GET_STATUS");
                return -1;
        }
        if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE) ||
            !(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET)) {
                fprintf(stderr, "group status flags %#x\n", status.flags);
                return -1;
        }
        device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, address);
        if (device < 0) {
                perror("VFIO_GROUP_GET_DEVICE_FD");
                return -1;
        }
        printf("device fd %d from the group\n", device);
        return 0;
}

static int acquire(vl_client *c, const char *address, bool managed)
{
        vl_reply r;
        json_object *grants, *g;
        const char *backend;
        int iommu, dev;

        if (call(c, "io.ioasid.Broker.Acquire", acquire_params(address, managed), &r) < 0) {
                printf("error %s %s\n", r.error, json_object_to_json_string(r.parameters));
                return 1;
        }
        backend = str(r.parameters, "backend");
        if (!json_object_object_get_ex(r.parameters, "grants", &grants) ||
            !(g = json_object_array_get_idx(grants, 0)))
                return 1;
        iommu = vl_reply_take_fd(&r, (size_t)num(r.parameters, "iommuFileDescriptor"));
        dev = vl_reply_take_fd(&r, (size_t)num(g, "fileDescriptor"));
        if (iommu < 0 || dev < 0) {
                fprintf(stderr, "the reply came without its fds\n");
                return 1;
        }
        if (streq(backend, "iommufd") ? use_iommufd(iommu, dev) < 0 : use_legacy(dev, address) < 0)
                return 1;
        printf("granted %s %s\n", str(r.parameters, "lease"), backend);
        fflush(stdout);
        vl_reply_done(&r);
        /* A VMM holds on to what it got; the lease ends when it exits. */
        pause();
        return 0;
}

static int refused(vl_client *c, const char *error, const char *address)
{
        vl_reply r;

        if (call(c, "io.ioasid.Broker.Acquire", acquire_params(address, false), &r) == 0) {
                printf("unexpectedly granted\n");
                return 1;
        }
        printf("%s %s\n", r.error, json_object_to_json_string(r.parameters));
        return streq(r.error, error) ? 0 : 1;
}

static int release(vl_client *c, const char *method, const char *lease)
{
        json_object *p = json_object_new_object();
        vl_reply r;

        json_object_object_add(p, "lease", json_object_new_string(lease));
        if (call(c, method, p, &r) < 0) {
                printf("error %s\n", r.error);
                return 1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        vl_client *c;
        int k;

        if (argc < 3) {
                fprintf(stderr,
                        "usage: vm-client SOCKET groups|acquire|refused|release|revoke ...\n");
                return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        k = vl_client_connect(argv[1], &c);
        if (k < 0) {
                fprintf(stderr, "connect %s: %s\n", argv[1], strerror(-k));
                return 1;
        }
        vl_client_set_timeout(c, 60000);
        if (streq(argv[2], "groups"))
                return groups(c);
        if (streq(argv[2], "acquire") && argc >= 4)
                return acquire(c, argv[3], argc >= 5 && streq(argv[4], "managed"));
        if (streq(argv[2], "refused") && argc == 5)
                return refused(c, argv[3], argv[4]);
        if (streq(argv[2], "release") && argc == 4)
                return release(c, "io.ioasid.Broker.Release", argv[3]);
        if (streq(argv[2], "revoke") && argc == 4)
                return release(c, "io.ioasid.Admin.Revoke", argv[3]);
        fprintf(stderr, "vm-client: bad arguments\n");
        return 2;
}
