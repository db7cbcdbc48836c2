/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "json-cleanup.h"
#include "log.h"
#include "monitor.h"

struct monitors {
        vl_link **links;
        size_t n, alloc;
};

int monitors_new(monitors **ret)
{
        *ret = calloc(1, sizeof(monitors));
        return *ret ? 0 : -ENOMEM;
}

monitors *monitors_free(monitors *m)
{
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n; i++) {
                vl_link_set_disconnect_handler(m->links[i], NULL);
                vl_link_unref(m->links[i]);
        }
        free(m->links);
        free(m);
        return NULL;
}

static void remove_at(monitors *m, size_t i)
{
        vl_link *l = m->links[i];

        m->links[i] = m->links[--m->n];
        vl_link_set_disconnect_handler(l, NULL);
        vl_link_unref(l);
}

static void on_disconnect(vl_link *link, void *userdata)
{
        monitors *m = userdata;

        for (size_t i = 0; i < m->n; i++)
                if (m->links[i] == link) {
                        remove_at(m, i);
                        return;
                }
}

int monitors_add(monitors *m, vl_link *link)
{
        if (m->n == m->alloc) {
                size_t n = MAX(m->alloc * 2, (size_t)8);
                vl_link **p = reallocarray(m->links, n, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                m->links = p;
                m->alloc = n;
        }
        m->links[m->n++] = vl_link_ref(link);
        vl_link_set_userdata(link, m);
        vl_link_set_disconnect_handler(link, on_disconnect);
        return 0;
}

void monitors_broadcast(monitors *m, json_object *event)
{
        /* Walk backwards: a failed send closes the link and removes it from the array. */
        for (size_t i = m->n; i-- > 0;) {
                json_object *p = json_object_new_object();

                if (!p) {
                        log_oom();
                        return;
                }
                json_object_object_add(p, "event", json_object_get(event));
                if (vl_link_notify(m->links[i], p) < 0 && i < m->n &&
                    vl_link_is_closed(m->links[i]))
                        remove_at(m, i);
        }
}

unsigned monitors_count(const monitors *m)
{
        return (unsigned)m->n;
}
