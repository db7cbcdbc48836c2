/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

/* Deep equality as JSON means it: JSON has one number type, and another implementation may
 * write the float 1.0 as 1, so numbers compare by value whatever json-c typed them as. Objects
 * compare regardless of key order. */
bool cert_json_equal(json_object *a, json_object *b);
