/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A varlink server on sd-event and json-c, shaped like systemd's sd-varlink so that a later move
 * to it stays cheap: interfaces are tables of methods, each method has a parameter table that is
 * checked before the handler runs, fds travel by index (push_fd / peek_fd), and a handler
 * replies once (or, for calls with "more", streams with notify and ends with reply or error).
 *
 * Calls on one connection are served one at a time, in order: a handler that does not reply
 * before returning keeps its link (vl_link_ref) and replies later; the next pipelined call waits.
 *
 * A handler returns 0 (or > 0) on success, whether it replied or deferred; a negative errno makes
 * the server answer the call with the VL_ERROR_SYSTEM error, once, and go on serving. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "dispatch.h"
#include "peer.h"

#define VL_ERROR_INTERFACE_NOT_FOUND    "org.varlink.service.InterfaceNotFound"
#define VL_ERROR_METHOD_NOT_FOUND       "org.varlink.service.MethodNotFound"
#define VL_ERROR_METHOD_NOT_IMPLEMENTED "org.varlink.service.MethodNotImplemented"
#define VL_ERROR_INVALID_PARAMETER      "org.varlink.service.InvalidParameter"
#define VL_ERROR_PERMISSION_DENIED      "org.varlink.service.PermissionDenied"
#define VL_ERROR_EXPECTED_MORE          "org.varlink.service.ExpectedMore"
/* Not a varlink standard error: an unexpected failure inside the service, with its errno. */
#define VL_ERROR_SYSTEM "io.ioasid.System"

typedef struct vl_server vl_server;
typedef struct vl_link vl_link;
typedef struct vl_method vl_method;

enum {
        VL_CALL_MORE = 1u << 0,
        VL_CALL_ONEWAY = 1u << 1,
};

enum {
        VL_METHOD_ACCEPT_FDS = 1u << 0,    /* the call may carry fds (peek/take them by index) */
        VL_METHOD_REQUIRES_MORE = 1u << 1, /* refuse calls without "more": ExpectedMore */
};

/* args: the method's argument struct, filled from params by its field table (NULL when the
 * method has none). params: the raw parameters object, never NULL. Both are valid until the
 * handler returns; a handler that replies later copies what it needs. */
typedef int (*vl_method_handler)(vl_link *link, json_object *params, void *args, void *userdata);

struct vl_method {
        const char *name;
        vl_method_handler handler; /* NULL: MethodNotImplemented */
        const vl_field *fields;    /* parameter table; NULL: the method takes no parameters */
        size_t args_size;
        const void *args_defaults; /* copied into args before dispatch; NULL: zeroed */
        unsigned flags;
};

typedef struct vl_interface {
        const char *name;
        const char *description;  /* the interface's IDL text */
        const vl_method *methods; /* terminated by an entry with name NULL */
        /* Optional gate before any method of the interface: > 0 allow, 0 deny
         * (PermissionDenied), < 0 error. */
        int (*authorize)(vl_link *link, const vl_method *method, void *userdata);
} vl_interface;

/* The largest call the broker takes, an Acquire of 256 devices, is under 5 KiB; nothing a
 * client sends needs more, and every connection may buffer this much. */
#define VL_SERVER_MESSAGE_SIZE_MAX (64u * 1024u)

/* vl_server_set_limits() takes zero for a size or for the fds timeout as its default. */
typedef struct vl_server_limits {
        unsigned connections_max;         /* default 4096 */
        unsigned connections_per_uid_max; /* default 1024 */
        size_t message_size_max;          /* default VL_SERVER_MESSAGE_SIZE_MAX, per message */
        size_t queued_bytes_max;          /* default 16 MiB of replies not yet read by the peer */
        uint64_t idle_timeout_usec;       /* default 5 min; 0: none. Not while a call is open */
        /* Across all connections of one uid: fds received and not yet released with their
         * call, or queued to go out (default 1024); bytes of input buffers and queued replies
         * (default 64 MiB). A connection that takes its uid over either is closed. */
        size_t fds_per_uid_max;
        size_t bytes_per_uid_max;
        /* fds sent with a message whose end does not follow within this are closed with the
         * connection (default 5 s): fds are the scarcer resource. */
        uint64_t pending_fds_timeout_usec;
} vl_server_limits;

typedef struct vl_server_info {
        const char *vendor, *product, *version, *url;
} vl_server_info;

int vl_server_new(sd_event *event, const vl_server_info *info, void *userdata, vl_server **ret);
vl_server *vl_server_free(vl_server *s);
void vl_server_set_limits(vl_server *s, const vl_server_limits *limits);
const vl_server_limits *vl_server_get_limits(const vl_server *s);
int vl_server_add_interface(vl_server *s, const vl_interface *iface);
/* Listens on the fds passed by the service manager (sd_listen_fds), or else binds path with
 * mode. Returns the number of listening sockets. */
int vl_server_listen_auto(vl_server *s, const char *path, mode_t mode);
int vl_server_listen_path(vl_server *s, const char *path, mode_t mode);
int vl_server_listen_fd(vl_server *s, int fd);
/* Raises the soft RLIMIT_NOFILE to the hard one, for a server with many connections. */
int vl_raise_fd_limit(void);
/* Adds an already connected socket (socketpair()) as a connection. */
int vl_server_add_connection(vl_server *s, int fd, vl_link **ret);
unsigned vl_server_n_connections(const vl_server *s);
void vl_server_set_connect_handler(vl_server *s, void (*cb)(vl_link *link, void *userdata));
void *vl_server_get_userdata(const vl_server *s);

vl_link *vl_link_ref(vl_link *l);
vl_link *vl_link_unref(vl_link *l);
void vl_link_unrefp(vl_link **l);
void vl_link_close(vl_link *l);
bool vl_link_is_closed(const vl_link *l);
const vl_peer *vl_link_peer(const vl_link *l);
unsigned vl_link_call_flags(const vl_link *l);
const char *vl_link_call_method(const vl_link *l);
vl_server *vl_link_server(const vl_link *l);
void *vl_link_get_userdata(const vl_link *l);
void vl_link_set_userdata(vl_link *l, void *userdata);
/* Called once when the connection goes away, before its open call (if any) is dropped. */
void vl_link_set_disconnect_handler(vl_link *l, void (*cb)(vl_link *link, void *userdata));

/* Replies: parameters are consumed (NULL: an empty object). reply and error end the call;
 * notify sends "continues": true and needs a call with "more". All return 0 or a negative errno
 * (-ENOTCONN when the peer is gone); on a oneway call they send nothing and return 0. */
int vl_link_reply(vl_link *l, json_object *parameters);
int vl_link_notify(vl_link *l, json_object *parameters);
/* A reply whose parameters are {key: value}, the value being JSON text that fill() writes, len
 * bytes exactly, straight into the queued message: for large replies assembled from text
 * rendered earlier. key is a plain identifier; the value is trusted to be valid JSON. */
typedef void (*vl_text_fill)(char *buf, size_t len, void *userdata);
int vl_link_reply_text(vl_link *l, const char *key, size_t len, vl_text_fill fill, void *userdata);
int vl_link_error(vl_link *l, const char *error, json_object *parameters);
int vl_link_error_invalid_parameter(vl_link *l, const char *name);
int vl_link_error_errno(vl_link *l, int error);

/* fds to go with the next reply or notify: takes ownership, returns its index (or < 0). Errors
 * carry no fds: pushed fds are closed by vl_link_error. */
int vl_link_push_fd(vl_link *l, int fd);
/* fds that came with the current call (methods with VL_METHOD_ACCEPT_FDS). peek: borrowed;
 * take: the caller owns it and the slot is emptied. -ENXIO for an index that was not sent. */
int vl_link_peek_fd(const vl_link *l, unsigned idx);
int vl_link_take_fd(vl_link *l, unsigned idx);
unsigned vl_link_n_fds(const vl_link *l);

/* Checks params against a table as vl_dispatch does; on a bad field replies InvalidParameter and
 * returns 1, so callers write "if (r != 0) return r;". */
int vl_link_dispatch(vl_link *l, json_object *params, const vl_field *table, void *args);

/* Standard interface descriptions, compiled in from the files in proto/idl. */
extern const char vl_idl_org_varlink_service[];
/* The broker's own interfaces. */
extern const char vl_idl_io_ioasid_broker[];
extern const char vl_idl_io_ioasid_admin[];
