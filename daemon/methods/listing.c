/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Descriptions are rendered to JSON text once per change of what they show and kept on the
 * model's objects, keyed by the objects' versions; a listing is those texts joined. Building a
 * listing of 16k devices as json-c objects cost ~100 times copying its bytes, most of it in
 * allocating and freeing the objects.
 *
 * What a lease owns is rendered afresh each time instead: its owner and dmaBlocked follow the
 * lease's state, which the model's versions do not see. Leased devices are few. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "json-cleanup.h"
#include "listing.h"

typedef struct piece {
        uint64_t stamp;
        size_t len;
        char text[];
} piece;

/* As the wire writes every message. */
#define TEXT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Takes o (NULL: out of memory). */
static piece *piece_new(json_object *o, uint64_t stamp)
{
        const char *s;
        size_t len = 0;
        piece *p;

        s = o ? json_object_to_json_string_length(o, TEXT_FLAGS, &len) : NULL;
        p = s ? malloc(sizeof(*p) + len + 1) : NULL;
        if (p) {
                p->stamp = stamp;
                p->len = len;
                memcpy(p->text, s, len + 1);
        }
        json_object_put(o);
        return p;
}

/* An object's text from its cache: while the cached text has the object's version, and no lease
 * owns the object. */
static bool from_cache(const piece *cache, uint64_t version, bool leased, const piece **ret)
{
        if (leased || !cache || cache->stamp != version)
                return false;
        *ret = cache;
        return true;
}

/* The object's text, from the cache or rendered (and cached when it may be); *ret_owned is set
 * when the caller must free it. */
static int device_piece(model *m, const void *object, const piece **ret, piece **ret_owned)
{
        const model_device *d = object;
        piece *p;

        if (from_cache(d->cache, d->version, d->owner, ret))
                return 0;
        p = piece_new(describe_device(d), d->version);
        if (!p)
                return -ENOMEM;
        if (d->owner)
                *ret_owned = p;
        else
                model_set_device_cache(m, d, p);
        *ret = p;
        return 0;
}

/* A group's version covers its members' (model.h). */
static int group_piece(model *m, const void *object, const piece **ret, piece **ret_owned)
{
        const model_group *g = object;
        piece *p;

        if (from_cache(g->cache, g->version, g->owner, ret))
                return 0;
        p = piece_new(describe_group(m, g), g->version);
        if (!p)
                return -ENOMEM;
        if (g->owner)
                *ret_owned = p;
        else
                model_set_group_cache(m, g, p);
        *ret = p;
        return 0;
}

typedef int (*piece_fn)(model *m, const void *object, const piece **ret, piece **ret_owned);

/* A listing's pieces are its objects' cached texts but for a few rendered afresh (owned), in
 * the objects' order. No array of n pointers: one of 16k is 128 KiB, which malloc maps fresh
 * each time, and first touches of fresh pages are what a listing must not pay for. */
typedef struct owned_piece {
        size_t index;
        piece *piece;
} owned_piece;

typedef struct joined {
        const void *const *objects;
        size_t n;
        const void *(*cache)(const void *object);
        const owned_piece *owned;
        size_t n_owned;
} joined;

static const void *device_cache(const void *object)
{
        return ((const model_device *)object)->cache;
}

static const void *group_cache(const void *object)
{
        return ((const model_group *)object)->cache;
}

/* "[" pieces joined by "," "]" */
static void join_fill(char *buf, size_t len, void *userdata)
{
        const joined *j = userdata;
        size_t next = 0;

        *buf++ = '[';
        for (size_t i = 0; i < j->n; i++) {
                const piece *p = j->cache(j->objects[i]);

                if (next < j->n_owned && j->owned[next].index == i)
                        p = j->owned[next++].piece;
                if (i > 0)
                        *buf++ = ',';
                buf = mempcpy(buf, p->text, p->len);
        }
        *buf = ']';
}

static int listing(vl_link *link, const char *key, model *m, const void *const *objects, size_t n,
                   piece_fn fn, const void *(*cache)(const void *object))
{
        _cleanup_free_ owned_piece *owned = NULL;
        size_t n_owned = 0, n_alloc = 0, len = 2 + (n > 0 ? n - 1 : 0);
        int r = 0;

        for (size_t i = 0; i < n && r >= 0; i++) {
                const piece *p = NULL;
                piece *o = NULL;

                r = fn(m, objects[i], &p, &o);
                if (r < 0)
                        break;
                len += p->len;
                if (!o)
                        continue;
                if (n_owned == n_alloc) {
                        size_t k = MAX(n_alloc * 2, (size_t)8);
                        owned_piece *a = reallocarray(owned, k, sizeof(*a));

                        if (!a) {
                                free(o);
                                r = -ENOMEM;
                                break;
                        }
                        owned = a;
                        n_alloc = k;
                }
                owned[n_owned++] = (owned_piece){ .index = i, .piece = o };
        }
        if (r >= 0)
                r = vl_link_reply_text(link, key, len, join_fill,
                                       &(joined){ .objects = objects,
                                                  .n = n,
                                                  .cache = cache,
                                                  .owned = owned,
                                                  .n_owned = n_owned });
        for (size_t i = 0; i < n_owned; i++)
                free(owned[i].piece);
        return r;
}

int listing_reply_devices(vl_link *link, model *m)
{
        size_t n;
        const model_device *const *devices = model_devices(m, &n);

        return listing(link, "devices", m, (const void *const *)devices, n, device_piece,
                       device_cache);
}

int listing_reply_groups(vl_link *link, model *m)
{
        size_t n;
        const model_group *const *groups = model_groups(m, &n);

        return listing(link, "groups", m, (const void *const *)groups, n, group_piece, group_cache);
}

static void piece_fill(char *buf, size_t len, void *userdata)
{
        memcpy(buf, ((const piece *)userdata)->text, len);
}

int listing_reply_group(vl_link *link, model *m, const model_group *g)
{
        const piece *p = NULL;
        _cleanup_free_ piece *owned = NULL;
        int r;

        r = group_piece(m, g, &p, &owned);
        if (r < 0)
                return r;
        return vl_link_reply_text(link, "group", p->len, piece_fill, (void *)p);
}
