/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Work that may block in the kernel, kept off the main loop: unbinding a device from vfio-pci
 * waits until every fd of it is closed, and the holder decides when that is. The work runs in a
 * forked child (only sysfs writes: nothing of the loop is touched there); its end is seen on the
 * loop through the child's pidfd. */

#include <systemd/sd-event.h>

typedef struct worker worker;

/* fn runs in the child, with stdio and keep_fd (the sysfs root, say) its only fds; its return
 * value (0 or a negative errno) reaches done, on the loop, with the userdata. timeout_usec > 0:
 * the child is killed after that long and done gets -ETIME. */
int worker_start(sd_event *event, int (*fn)(void *userdata),
                 void (*done)(int result, void *userdata), void *userdata, uint64_t timeout_usec,
                 int keep_fd, worker **ret);
/* Stops waiting: the child is killed, done is not called. Never waits for the child (one in a
 * vfio unbind outlives SIGKILL until the device is closed): the loop reaps it. */
worker *worker_free(worker *w);
