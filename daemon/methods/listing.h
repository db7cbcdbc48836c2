/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The replies of ListGroups, ListDevices and GetGroup, assembled from descriptions (describe.h)
 * rendered once per change and cached on the model's objects. 0 or a negative errno. */

#include "model.h"
#include "varlink.h"

int listing_reply_devices(vl_link *link, model *m);                     /* {"devices": [Device]} */
int listing_reply_groups(vl_link *link, model *m);                      /* {"groups": [Group]} */
int listing_reply_group(vl_link *link, model *m, const model_group *g); /* {"group": Group} */
