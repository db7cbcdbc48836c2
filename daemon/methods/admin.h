/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* io.ioasid.Admin: for root, and for subjects a policy rule grants "admin". */

#include "varlink.h"

extern const vl_interface admin_interface;
