/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Lease records on disk, so that leases survive a daemon restart: one JSON file per lease,
 * STATE_DIR/<lease id>.json, written atomically (a temporary file in the same directory, written
 * O_DSYNC, renameat, fsync of the directory), removed when the lease ends, all read back at
 * start. Reading checks every field against a table; a malformed record is logged, renamed
 * aside to <name>.bad and skipped, never half-trusted.
 *
 *   {"version": 1, "lease": "<32 hex>", "uid": 1000, "holderPid": 4242,
 *    "holderStartTime": 123456, "backend": "iommufd", "pathMode": false, "ending": true,
 *    "devices": [{"address": "0000:00:03.0", "group": 2, "managed": true,
 *                 "originalDriver": "virtio-pci", "pending": true}]}
 *
 * The holder is named by pid and start time (clock ticks since boot, /proc/PID/stat field 22):
 * a pid alone may belong to another process by the time the daemon reads it back.
 *
 * "ending" (absent: false) is written before a lease's devices are put back: the lease has ended
 * for its holder, whatever a restart finds, and a restart finishes the ending instead of taking
 * the lease back. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "lease-holder.h" /* a record names its holder */
#include "pci-address.h"
#include "sysfs.h"

#define LEASE_ID_LEN             32u /* 128 random bits in lower-case hex */
#define LEASE_ID_SIZE            (LEASE_ID_LEN + 1)
#define LEASE_BACKEND_NAME_MAX   16u
#define LEASE_RECORD_SIZE_MAX    (1024u * 1024u)
#define LEASE_RECORD_DEVICES_MAX 4096u

typedef struct lease_record_device {
        char address[PCI_ADDRESS_SIZE];
        int group;
        /* The daemon bound it to vfio-pci; at lease end it goes back to original_driver. */
        bool managed;
        char original_driver[SYSFS_NAME_MAX + 1]; /* "" none: left driver-less; only if managed */
        /* Written before an Acquire touches anything, cleared when it succeeded: a pending
         * device found at start belongs to an Acquire that never answered, whose fds never
         * left; it is put back (managed) and dropped from the lease. */
        bool pending;
} lease_record_device;

typedef struct lease_record {
        char id[LEASE_ID_SIZE];
        uid_t uid;
        pid_t holder_pid;
        uint64_t holder_start_time;
        char backend[LEASE_BACKEND_NAME_MAX + 1]; /* backend_name() */
        bool path_mode;                           /* legacy: /dev/vfio/N ownership granted */
        bool ending; /* ended (Release, Revoke, holder gone): its devices being put back */
        lease_record_device *devices;
        size_t n_devices;
} lease_record;

/* A new random lease id. */
int lease_id_new(char ret[static LEASE_ID_SIZE]);
bool lease_id_valid(const char *s);

void lease_record_done(lease_record *r);
void lease_records_free(lease_record *r, size_t n);

/* original_driver NULL or "" for none. -EINVAL for an invalid address, group or driver name, or
 * an original driver without managed; -EEXIST if the address is there already. */
int lease_record_add_device(lease_record *r, const char *address, int group, bool managed,
                            const char *original_driver);
/* 0 if it was not there. */
int lease_record_remove_device(lease_record *r, const char *address);
const lease_record_device *lease_record_find_device(const lease_record *r, const char *address);

/* The record as JSON text (the format above, on one line ending in a newline), and back:
 * parsing refuses anything that is not exactly a valid record, with *ret_bad (optional) naming
 * the field (-EINVAL, -ENOMEM). */
int lease_record_format(const lease_record *r, char **ret);
int lease_record_parse(const char *text, size_t len, lease_record *ret, const char **ret_bad);

/* dir_fd: the state directory (O_PATH is enough; an fd fsync() takes saves opening one for each
 * record written). save replaces an existing record of the same id, synced with its directory;
 * remove is a no-op for a record that is not there, and does not sync (see there why). */
int lease_store_save(int dir_fd, const lease_record *r);
int lease_store_remove(int dir_fd, const char *id);
/* Every valid record, sorted by id; malformed ones are renamed to *.bad, temporary files left by
 * a crash removed. Errors only for what stops reading altogether (the directory, -ENOMEM). */
int lease_store_load(int dir_fd, lease_record **ret, size_t *ret_n);
