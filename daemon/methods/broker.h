/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* io.ioasid.Broker: the model as clients see it, and the Monitor stream. */

#include "varlink.h"

extern const vl_interface broker_interface;
