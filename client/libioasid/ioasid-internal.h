/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What libioasid's own files share, and what the project's tools (linked with the static
 * library) may use beyond the public header: the replies as json-c objects. */

#include <json-c/json.h>

#include "client.h"
#include "ioasid.h"
#include "macro.h"

struct ioasid {
        vl_client *vl;
        char *error;               /* the last call's varlink error name, or NULL */
        json_object *error_params; /* its parameters */
        char *version;
};

/* One call: params is consumed. A refusal is stored on c and returned as its errno; any other
 * failure (the connection) as it came. On success ret holds the reply. */
int ioasid_call(ioasid *c, const char *method, json_object *params, const int *fds, size_t n_fds,
                vl_reply *ret);

/* Borrowed views of a reply's members; the handles of the public header are these, cast. */
const char *json_get_string(json_object *o, const char *key);
int json_get_int(json_object *o, const char *key, int fallback);
/* 1, 0, or -ENODATA when key is absent or not a boolean. */
int json_get_bool(json_object *o, const char *key);
size_t json_get_array_size(json_object *o, const char *key);
json_object *json_get_array_item(json_object *o, const char *key, size_t i);
const char *json_get_array_string(json_object *o, const char *key, size_t i);
int json_get_owner(json_object *o, uid_t *ret_uid, pid_t *ret_pid, const char **ret_lease);

/* The reply arrays, for tools that print them as JSON. */
json_object *ioasid_group_list_json(const ioasid_group_list *l);
json_object *ioasid_device_list_json(const ioasid_device_list *l);
json_object *ioasid_group_json(const ioasid_group *g);
json_object *ioasid_device_json(const ioasid_device *d);
json_object *ioasid_lease_json(const ioasid_lease *l);
json_object *ioasid_event_json_object(const ioasid_event *e);
json_object *ioasid_policy_verdict_json(const ioasid_policy_verdict *v);
json_object *ioasid_error_parameters_json(const ioasid *c);

DEFINE_TRIVIAL_CLEANUP_FUNC(ioasid *, ioasid_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ioasid_group_list *, ioasid_group_list_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ioasid_status *, ioasid_status_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ioasid_device_list *, ioasid_device_list_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ioasid_monitor *, ioasid_monitor_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ioasid_event *, ioasid_event_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ioasid_lease *, ioasid_lease_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ioasid_acquire_options *, ioasid_acquire_options_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ioasid_policy_verdict *, ioasid_policy_verdict_free);
