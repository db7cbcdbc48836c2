/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Varlink framing: NUL-terminated JSON messages on a SOCK_STREAM socket, with file descriptors
 * passed by SCM_RIGHTS. Shared by the server and the client; knows nothing of methods.
 *
 * The fd rule (sd-varlink's): fds belong to the message whose first byte arrived in the same
 * recvmsg() as the fds. A reader therefore only reads while it holds no complete message, and
 * fds that arrive while a partial message is buffered are a protocol violation. A writer sends
 * each fd-bearing message in a sendmsg() that starts exactly at that message. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "json-strict.h"

#define WIRE_FDS_MAX             253u /* SCM_MAX_FD */
#define WIRE_MESSAGE_SIZE_MAX    (16u * 1024u * 1024u)
#define WIRE_QUEUED_MESSAGES_MAX (64u * 1024u)
#define WIRE_JSON_DEPTH_MAX      32u
/* An input buffer starts this large (just under glibc's 1 KiB small-chunk bound), takes what a
 * read brings past it through a stack buffer this large, and is cut back to the unread bytes
 * after a message consumed from a buffer larger than WIRE_IN_KEEP. */
#define WIRE_IN_CHUNK 1000u
#define WIRE_IN_SPILL (16u * 1024u)
#define WIRE_IN_KEEP  (16u * 1024u)

typedef struct wire_msg wire_msg;

typedef struct wire_out {
        wire_msg *head, *tail;
        size_t bytes;      /* queued bytes not yet written */
        size_t n_messages; /* queued messages */
        size_t n_fds;      /* queued fds not yet sent */
} wire_out;

typedef struct wire_in {
        char *buf;
        size_t start, size, alloc; /* unconsumed data is buf[start..size); none: no buf */
        size_t scanned;            /* bytes after start known to hold no NUL */
        size_t max_message;
        int *fds; /* fds that came with the first byte of buf[start] */
        size_t n_fds;
} wire_in;

void wire_in_init(wire_in *in, size_t max_message);
void wire_in_done(wire_in *in);

/* One recvmsg(). Returns bytes read (> 0), 0 on end of file, -EAGAIN when nothing is there,
 * -EBADMSG when fds arrived mid-message or were truncated (they are closed), -EMSGSIZE when the
 * buffered message outgrows the limit, or another negative errno. */
int wire_in_read(wire_in *in, int fd);

/* Takes the next complete message out of the buffer. Returns 1 and the parsed JSON value (and
 * the fds that came with it, which the caller then owns) when one was there, 0 when more data
 * is needed, -EBADMSG when the message is not valid JSON (or null), -ENOMEM. */
int wire_in_next(wire_in *in, json_object **ret, int **ret_fds, size_t *ret_n_fds);

/* As wire_in_next, for a message that must be an object: its members go to cb as
 * json_parse_strict_members() hands them over, and no object is built for the message. An
 * error from cb is returned (the message is consumed). */
int wire_in_next_members(wire_in *in, json_member_cb cb, void *userdata, int **ret_fds,
                         size_t *ret_n_fds);

/* True when a complete (NUL-terminated) message is buffered. */
bool wire_in_has_message(wire_in *in);

void wire_out_init(wire_out *out);
void wire_out_done(wire_out *out);

/* Serialises v (not consumed) and queues it with fds; the fds are owned by the queue from here
 * on, even on failure. */
int wire_out_push(wire_out *out, json_object *v, int *fds, size_t n_fds);

/* Writes a value's text in place: exactly the len bytes it was asked for. */
typedef void (*wire_fill_fn)(char *buf, size_t len, void *userdata);

/* A member of a message written as an object, in order: value if set (borrowed), else string
 * if set, else raw, JSON text written as it is. A message so made (a call, a reply) costs no
 * json-c object of its own. */
typedef struct wire_member {
        const char *key;
        json_object *value;
        const char *string;
        const char *raw;
        /* else fill_len bytes that fill() writes in place: for large values assembled from
         * text rendered earlier, with no JSON object in between */
        wire_fill_fn fill;
        size_t fill_len;
        void *userdata;
} wire_member;

/* As wire_out_push, for the object of these members. */
int wire_out_push_members(wire_out *out, const wire_member *members, size_t n_members, int *fds,
                          size_t n_fds);

/* Writes as much as the socket takes. Returns 1 when the queue is empty, 0 when the socket would
 * block, or a negative errno (-EPIPE and friends when the peer is gone). */
int wire_out_flush(wire_out *out, int fd);

static inline bool wire_out_empty(const wire_out *out)
{
        return !out->head;
}
