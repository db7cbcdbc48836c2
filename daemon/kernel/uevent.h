/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Kernel uevent messages ("ACTION@DEVPATH\0KEY=VALUE\0..."), as the kernel multicasts them on
 * NETLINK_KOBJECT_UEVENT and as tests inject them. Only what the device model needs is kept;
 * the strings point into the message buffer (or into the struct itself). */

#include <stddef.h>

typedef enum uevent_action {
        UEVENT_ADD,
        UEVENT_REMOVE,
        UEVENT_BIND,
        UEVENT_UNBIND,
        UEVENT_CHANGE,
        UEVENT_OTHER, /* move, online, offline: the device is re-read all the same */
} uevent_action;

typedef struct uevent {
        uevent_action action;
        const char *devpath;   /* "/devices/pci0000:00/0000:00:03.1" */
        const char *subsystem; /* "pci", "vfio-dev", ... */
        const char *driver;    /* DRIVER=, or NULL */
        const char *address;   /* the PCI address the event is about, or NULL */
        char parent[13];       /* storage for address when it comes from DEVPATH */
} uevent;

#define UEVENT_SIZE_MAX 8192u

/* Parses one message. Returns 0, or -EBADMSG for anything that is not a well-formed uevent.
 * address is PCI_SLOT_NAME for the pci subsystem, and the PCI device a vfio-dev node hangs off
 * (from DEVPATH) for the vfio-dev subsystem. */
int uevent_parse(const char *buf, size_t len, uevent *ret);

/* Whether s is a PCI address in the kernel's form, "DDDD:BB:DD.F" in lower-case hex. */
int uevent_address_valid(const char *s, size_t len);
