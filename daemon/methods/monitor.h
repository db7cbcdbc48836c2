/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Clients of io.ioasid.Broker.Monitor: each gets every event as a "continues" reply for as
 * long as it stays connected. A client that does not read its events is disconnected by the
 * varlink layer's queue limit, never allowed to pin the daemon's memory. */

#include <json-c/json.h>

#include "varlink.h"

typedef struct monitors monitors;

int monitors_new(monitors **ret);
monitors *monitors_free(monitors *m);
/* Takes a reference on link, whose call must have "more". */
int monitors_add(monitors *m, vl_link *link);
/* Sends {"event": event} to every subscriber; event is borrowed. */
void monitors_broadcast(monitors *m, json_object *event);
unsigned monitors_count(const monitors *m);
