/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where device changes come from, and how bursts are folded. Sources: udevd's monitor (libudev)
 * on a host with udevd; the kernel's uevent multicast where no udevd runs (a VM with a busybox
 * init); and, for tests on a generated sysfs, a datagram socket carrying kernel-format uevents.
 * All three end in events_feed(), so tests drive the very path real events take.
 *
 * Changed PCI addresses are collected and handed over in one batch a few milliseconds after the
 * burst ends (at most 100 ms after it began); an overflowing event stream, or a burst too large
 * to track, becomes one full rescan instead. */

#include <systemd/sd-event.h>

#include "uevent.h"

typedef struct events events;

typedef struct events_ops {
        /* One call per distinct changed address in a batch. */
        void (*device)(const char *address, void *userdata);
        /* Events were lost (or too many to track): read everything again. */
        void (*rescan)(void *userdata);
        /* After each batch. */
        void (*flushed)(void *userdata);
} events_ops;

int events_new(sd_event *event, const events_ops *ops, void *userdata, events **ret);
events *events_free(events *ev);

int events_listen_udev(events *ev);
int events_listen_kernel(events *ev);
/* A SOCK_DGRAM socket at path: one uevent per datagram; a datagram "@overflow" stands for a
 * lost event (what ENOBUFS means on netlink). */
int events_listen_socket(events *ev, const char *path);

void events_feed(events *ev, const uevent *u);
void events_overflow(events *ev);
/* Runs a pending batch now (tests, and before answering a Rescan). */
void events_flush(events *ev);
