/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A value that is already JSON text: it serializes as that text, byte for byte, wherever it is
 * placed in a json-c tree. For replies assembled from pieces rendered earlier, which would cost
 * far more to rebuild as objects than to copy. It is opaque: to json-c it is an empty array, so
 * it is for serializing only, never for reading back. */

#include <json-c/json.h>
#include <stddef.h>

/* Takes text (malloc()ed, len bytes, valid JSON: the caller's promise) on success and on
 * failure. NULL when out of memory. */
json_object *json_text_new(char *text, size_t len);
