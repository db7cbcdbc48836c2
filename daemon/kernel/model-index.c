/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "macro.h"
#include "model-index.h"

static uint64_t mix(uint64_t x)
{
        /* splitmix64's finalizer: packed PCI addresses and group numbers are dense, and linear
         * probing wants their bits spread. */
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebull;
        return x ^ (x >> 31);
}

static size_t model_index_find(const model_index *t, uint64_t key)
{
        size_t i = mix(key) & t->mask;

        while (t->slots[i] && t->key(t->slots[i]) != key)
                i = (i + 1) & t->mask;
        return i;
}

void *model_index_get(const model_index *t, uint64_t key)
{
        return t->slots ? t->slots[model_index_find(t, key)] : NULL;
}

static size_t *pos_of(const model_index *t, void *e)
{
        return (size_t *)((char *)e + t->pos_offset);
}

static int cmp_key(const void *a, const void *b, void *userdata)
{
        const model_index *t = userdata;
        uint64_t x = t->key(*(void *const *)a), y = t->key(*(void *const *)b);

        return x < y ? -1 : x > y;
}

void **model_index_sorted(model_index *t)
{
        if (!t->sorted) {
                qsort_r(t->all, t->n, sizeof(void *), cmp_key, t);
                for (size_t i = 0; i < t->n; i++)
                        *pos_of(t, t->all[i]) = i;
                t->sorted = true;
        }
        return t->all;
}

static int rehash(model_index *t, size_t n_slots)
{
        size_t old_n = t->slots ? t->mask + 1 : 0;
        void **old = t->slots;

        t->slots = calloc(n_slots, sizeof(void *));
        if (!t->slots) {
                t->slots = old;
                return -ENOMEM;
        }
        t->mask = n_slots - 1;
        for (size_t i = 0; i < old_n; i++)
                if (old[i])
                        t->slots[model_index_find(t, t->key(old[i]))] = old[i];
        free(old);
        return 0;
}

static int model_index_grow(model_index *t)
{
        return rehash(t, t->slots ? (t->mask + 1) * 2 : 64);
}

int model_index_reserve(model_index *t, size_t n)
{
        size_t n_slots = t->slots ? t->mask + 1 : 64;

        while (n * 2 > n_slots)
                n_slots *= 2;
        if (n > t->n_alloc) {
                void **p = reallocarray(t->all, n, sizeof(void *));

                if (!p)
                        return -ENOMEM;
                t->all = p;
                t->n_alloc = n;
        }
        return !t->slots || n_slots > t->mask + 1 ? rehash(t, n_slots) : 0;
}

int model_index_add(model_index *t, void *e)
{
        if (t->n == t->n_alloc) {
                size_t k = MAX(t->n_alloc * 2, (size_t)64);
                void **p = reallocarray(t->all, k, sizeof(void *));

                if (!p)
                        return -ENOMEM;
                t->all = p;
                t->n_alloc = k;
        }
        if ((!t->slots || (t->n + 1) * 2 > t->mask + 1) && model_index_grow(t) < 0)
                return -ENOMEM;
        t->slots[model_index_find(t, t->key(e))] = e;
        *pos_of(t, e) = t->n;
        t->all[t->n++] = e;
        if (t->n > 1 && t->key(t->all[t->n - 2]) > t->key(e))
                t->sorted = false;
        return 0;
}

void model_index_del(model_index *t, void *e)
{
        size_t i = model_index_find(t, t->key(e)), j, pos = *pos_of(t, e);

        /* Backward-shift deletion: no tombstones, so lookups never slow down with churn. */
        t->slots[i] = NULL;
        for (j = (i + 1) & t->mask; t->slots[j]; j = (j + 1) & t->mask) {
                size_t home = mix(t->key(t->slots[j])) & t->mask;

                /* Leave the entry if its home lies cyclically in (i, j]. */
                if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
                        continue;
                t->slots[i] = t->slots[j];
                t->slots[j] = NULL;
                i = j;
        }
        t->all[pos] = t->all[--t->n];
        *pos_of(t, t->all[pos]) = pos;
        if (pos != t->n)
                t->sorted = false;
}

void model_index_done(model_index *t)
{
        free(t->all);
        free(t->slots);
        *t = (model_index){};
}
