/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lease record parser, which reads what is in the state directory at start, and the
 * /proc/PID/stat parser, which names the holder. Input: a record (or stat text) as is.
 * Checked invariants: a record that parses is valid field by field, and writing it out and
 * parsing that again gives the same record; the stat parser stays within the input. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json-cleanup.h"
#include "lease-store.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_valid(const lease_record *r)
{
        assert(lease_id_valid(r->id));
        assert(r->holder_pid > 0 && r->uid != (uid_t)-1 && r->backend[0]);
        for (size_t i = 0; i < r->n_devices; i++) {
                const lease_record_device *d = &r->devices[i];

                assert(pci_address_valid_str(d->address) && d->group >= 0);
                assert(!d->original_driver[0] ||
                       (d->managed && sysfs_name_valid(d->original_driver)));
                for (size_t j = 0; j < i; j++)
                        assert(strcmp(d->address, r->devices[j].address) != 0);
        }
}

static void check_round_trip(const lease_record *r)
{
        _cleanup_free_ char *text = NULL;
        lease_record back;

        if (lease_record_format(r, &text) < 0)
                return; /* out of memory */
        assert(lease_record_parse(text, strlen(text), &back, NULL) == 0);
        assert(streq(back.id, r->id) && back.uid == r->uid && back.holder_pid == r->holder_pid);
        assert(back.holder_start_time == r->holder_start_time && back.path_mode == r->path_mode);
        assert(streq(back.backend, r->backend) && back.n_devices == r->n_devices);
        for (size_t i = 0; i < r->n_devices; i++) {
                const lease_record_device *a = &back.devices[i], *b = &r->devices[i];

                assert(streq(a->address, b->address) && a->group == b->group);
                assert(a->managed == b->managed && streq(a->original_driver, b->original_driver));
        }
        lease_record_done(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        lease_record r;
        const char *bad = NULL;
        uint64_t start;
        char *copy, state;
        int k;

        if (size > LEASE_RECORD_SIZE_MAX + 1)
                return 0;
        log_set_max_level(LOG_CRIT);
        /* An exact-size copy without a terminating NUL: the parsers must respect len. */
        copy = malloc(size ?: 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);

        k = lease_record_parse(copy, size, &r, &bad);
        if (k == 0) {
                assert(!bad);
                check_valid(&r);
                check_round_trip(&r);
                lease_record_done(&r);
        } else
                assert(k == -ENOMEM || (k == -EINVAL && bad));

        if (lease_proc_stat_parse(copy, size, &state, &start) == 0)
                assert((state >= 'A' && state <= 'Z') || (state >= 'a' && state <= 'z'));
        free(copy);
        return 0;
}
