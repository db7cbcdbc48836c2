/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The model's index: a hash table over objects that carry their own key, plus the array of all
 * of them behind the sorted listings. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct model_index {
        void **slots;
        size_t mask; /* number of slots - 1; slots is NULL while empty */
        size_t n;
        uint64_t (*key)(const void *e);
        size_t pos_offset; /* where each object keeps its position in all[] */
        void **all;        /* sorted by key while `sorted` */
        size_t n_alloc;
        bool sorted;
} model_index;

/* The object with key, or NULL. */
void *model_index_get(const model_index *t, uint64_t key);
/* All objects, sorted by key (sorting again only after a change broke the order). */
void **model_index_sorted(model_index *t);
/* Room for n objects, so that adding up to n grows nothing (a scan knows how many come). */
int model_index_reserve(model_index *t, size_t n);
/* Adds e, whose key is not in t yet. */
int model_index_add(model_index *t, void *e);
void model_index_del(model_index *t, void *e);
/* Frees the index, not the objects. */
void model_index_done(model_index *t);
