/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* ListGroups, ListDevices and GetGroup values, assembled from descriptions (describe.h) that are
 * rendered once per change and cached on the model's objects. Each returns a new JSON text
 * value (json-text.h) for the reply's parameters, or NULL when out of memory. */

#include <json-c/json.h>

#include "model.h"

json_object *listing_devices(model *m); /* [Device] */
json_object *listing_groups(model *m);  /* [Group] */
json_object *listing_group(model *m, const model_group *g);
