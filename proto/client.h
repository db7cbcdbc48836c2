/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A blocking varlink client for our own tools and tests: one call at a time or pipelined with
 * send/recv, fds in and out by index. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct vl_client vl_client;

typedef struct vl_reply {
        json_object *parameters; /* never NULL after a successful receive */
        char *error;             /* NULL unless the reply is an error */
        bool continues;
        int *fds;
        size_t n_fds;
} vl_reply;

enum {
        VL_SEND_MORE = 1u << 0,
        VL_SEND_ONEWAY = 1u << 1,
};

int vl_client_connect(const char *path, vl_client **ret);
/* Takes a connected socket (socketpair(), an inherited fd). */
int vl_client_new_from_fd(int fd, vl_client **ret);
vl_client *vl_client_free(vl_client *c);
void vl_client_freep(vl_client **c);
int vl_client_fd(const vl_client *c);
/* Milliseconds a receive may wait; < 0 (the default) waits for ever. */
void vl_client_set_timeout(vl_client *c, int timeout_ms);

/* Sends one call; params (consumed) may be NULL for none; fds are borrowed and sent with the
 * call's first byte. */
int vl_client_send(vl_client *c, const char *method, json_object *params, unsigned flags,
                   const int *fds, size_t n_fds);
/* Receives one reply; -ETIMEDOUT, -ECONNRESET (peer closed), -EBADMSG (not a reply). */
int vl_client_recv(vl_client *c, vl_reply *ret);

/* send + recv of one reply. An error reply is not a failure of the call: ret->error says it. */
int vl_client_call(vl_client *c, const char *method, json_object *params, const int *fds,
                   size_t n_fds, vl_reply *ret);
/* A call with "more": cb runs for every reply (error replies included) until one without
 * "continues" or until cb returns non-zero (which is then returned). */
int vl_client_call_more(vl_client *c, const char *method, json_object *params,
                        int (*cb)(const vl_reply *reply, void *userdata), void *userdata);

void vl_reply_done(vl_reply *r);
/* Takes fd number idx out of the reply (-ENXIO if there is none). */
int vl_reply_take_fd(vl_reply *r, size_t idx);
