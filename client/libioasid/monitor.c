/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Monitor: a connection of its own, read without blocking, so that it fits any event loop. */
#include <errno.h>
#include <stdlib.h>

#include "ioasid-internal.h"
#include "json-cleanup.h"

struct ioasid_monitor {
        ioasid *c;
        bool ended;
};

struct ioasid_event {
        json_object *event;
};

int ioasid_monitor_new(const char *path, ioasid_monitor **ret)
{
        ioasid_monitor *m;
        int r;

        if (!ret)
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        r = ioasid_connect(path, &m->c);
        if (r >= 0)
                r = vl_client_send(m->c->vl, "io.ioasid.Broker.Monitor", NULL, VL_SEND_MORE, NULL,
                                   0);
        if (r < 0) {
                ioasid_monitor_free(m);
                return r;
        }
        /* From here on reads never wait: process() says "nothing yet" instead. */
        vl_client_set_timeout(m->c->vl, 0);
        *ret = m;
        return 0;
}

ioasid_monitor *ioasid_monitor_free(ioasid_monitor *m)
{
        if (m) {
                ioasid_free(m->c);
                free(m);
        }
        return NULL;
}

int ioasid_monitor_get_fd(const ioasid_monitor *m)
{
        return m ? ioasid_get_fd(m->c) : -EINVAL;
}

int ioasid_monitor_process(ioasid_monitor *m, ioasid_event **ret)
{
        _cleanup_json_ json_object *event = NULL;
        ioasid_event *e;
        vl_reply reply;
        json_object *v;
        int r;

        if (!m || !ret)
                return -EINVAL;
        if (m->ended)
                return -ECONNRESET;
        r = vl_client_recv(m->c->vl, &reply);
        if (r == -ETIMEDOUT)
                return 0;
        if (r < 0)
                return r;
        if (reply.error) {
                r = ioasid_error_errno(reply.error);
                vl_reply_done(&reply);
                m->ended = true;
                return r;
        }
        m->ended = !reply.continues;
        if (json_object_object_get_ex(reply.parameters, "event", &v) &&
            json_object_is_type(v, json_type_object) && json_get_string(v, "kind"))
                event = json_object_get(v);
        vl_reply_done(&reply);
        if (!event)
                return -EBADMSG;
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->event = TAKE_PTR(event);
        *ret = e;
        return 1;
}

ioasid_event *ioasid_event_free(ioasid_event *e)
{
        if (e) {
                json_object_put(e->event);
                free(e);
        }
        return NULL;
}

json_object *ioasid_event_json_object(const ioasid_event *e)
{
        return e ? e->event : NULL;
}

const char *ioasid_event_json(const ioasid_event *e)
{
        return e ? json_object_to_json_string_ext(e->event, JSON_C_TO_STRING_PLAIN) : NULL;
}

const char *ioasid_event_kind(const ioasid_event *e)
{
        return e ? json_get_string(e->event, "kind") : NULL;
}

const char *ioasid_event_address(const ioasid_event *e)
{
        return e ? json_get_string(e->event, "address") : NULL;
}

int ioasid_event_group(const ioasid_event *e)
{
        return e ? json_get_int(e->event, "group", -1) : -1;
}

const char *ioasid_event_driver(const ioasid_event *e)
{
        return e ? json_get_string(e->event, "driver") : NULL;
}

const char *ioasid_event_previous_driver(const ioasid_event *e)
{
        return e ? json_get_string(e->event, "previousDriver") : NULL;
}

int ioasid_event_viable(const ioasid_event *e)
{
        return e ? json_get_bool(e->event, "viable") : -EINVAL;
}

size_t ioasid_event_n_reasons(const ioasid_event *e)
{
        return e ? json_get_array_size(e->event, "reasons") : 0;
}

const char *ioasid_event_reason(const ioasid_event *e, size_t i)
{
        return e ? json_get_array_string(e->event, "reasons", i) : NULL;
}

const char *ioasid_event_lease(const ioasid_event *e)
{
        return e ? json_get_string(e->event, "lease") : NULL;
}
