/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The model as io.ioasid.Broker shows it: Device, Group and Event objects of the interface file
 * (proto/idl/io.ioasid.Broker.varlink). Keys with no value are left out, never sent as null. */

#include <json-c/json.h>

#include "lease.h"
#include "model.h"

/* Each returns a new object, or NULL when out of memory. */
json_object *describe_device(const model_device *d);
json_object *describe_group(const model *m, const model_group *g);
/* The Monitor event for a change, or NULL when the change is not one clients see (and on
 * -ENOMEM: events are best effort, the model is what counts). */
json_object *describe_change(const model *m, const model_change *c);
/* {"kind": kind} */
json_object *describe_event(const char *kind);
/* The Monitor event for what happened to a lease, or NULL when out of memory. */
json_object *describe_lease_event(const lease_event *e);
