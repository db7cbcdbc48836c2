/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* io.ioasid.Admin.Revoke: ends a lease against its holder's will. A VFIO fd cannot be taken
 * back, so the daemon closes its own copies and asks the kernel to unbind each device from its
 * vfio driver: the kernel relays a device request to the holder and waits for it to close the
 * device. That wait happens in a worker, off the main loop. Past the timeout the holder, and
 * every other process that has the devices open, is killed through a pidfd; the worker never
 * is (it would die as its unbind returned, before putting the device back). While it runs the
 * lease's end waits for it; a second Revoke of the lease joins it. Every step is in the audit
 * log. Each call is answered when the lease has ended. */

#include "lease.h"
#include "varlink.h"

int revoke_start(lease *l, vl_link *link, uid_t by);
