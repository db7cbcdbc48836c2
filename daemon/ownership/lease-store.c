/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dispatch.h"
#include "json-cleanup.h"
#include "json-strict.h"
#include "lease-store.h"
#include "log.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)
#define _cleanup_closedir_ _cleanup_(closedirp)
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free)

#define RECORD_VERSION  1
#define RECORD_SUFFIX   ".json"
#define TMP_SUFFIX      ".json.tmp"
#define BAD_SUFFIX      ".bad"
#define DIR_ENTRIES_MAX 65536u

/* ---- Ids and names ---- */

/* Random bytes for ids, drawn from the kernel a batch at a time: one getrandom() for many
 * leases instead of one each. Only the event loop's thread makes ids, and workers forked from it
 * never do, so no two processes hand out the same bytes. */
static int random_bytes(uint8_t *ret, size_t n)
{
        static uint8_t pool[16 * (LEASE_ID_LEN / 2)];
        static size_t left;

        if (n > sizeof(pool))
                return -EINVAL;
        while (left < n) {
                ssize_t k = getrandom(pool + left, sizeof(pool) - left, 0);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                left += (size_t)k;
        }
        /* Taken from the end, and wiped: no byte is handed out twice. */
        left -= n;
        memcpy(ret, pool + left, n);
        memset(pool + left, 0, n);
        return 0;
}

int lease_id_new(char ret[static LEASE_ID_SIZE])
{
        static const char hex[] = "0123456789abcdef";
        uint8_t bytes[LEASE_ID_LEN / 2];
        int r = random_bytes(bytes, sizeof(bytes));

        if (r < 0)
                return r;
        for (size_t i = 0; i < sizeof(bytes); i++) {
                ret[2 * i] = hex[bytes[i] >> 4];
                ret[2 * i + 1] = hex[bytes[i] & 15];
        }
        ret[LEASE_ID_LEN] = 0;
        return 0;
}

bool lease_id_valid(const char *s)
{
        return s && strlen(s) == LEASE_ID_LEN && strspn(s, "0123456789abcdef") == LEASE_ID_LEN;
}

static bool backend_name_valid(const char *s)
{
        size_t n = strlen(s);

        return n > 0 && n <= LEASE_BACKEND_NAME_MAX &&
               strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), k = strlen(suffix);

        return n >= k && streq(s + n - k, suffix);
}

/* "<id>.json": the only names that are lease records. */
static bool record_name_valid(const char *s)
{
        char id[LEASE_ID_SIZE];

        if (strlen(s) != LEASE_ID_LEN + strlen(RECORD_SUFFIX) || !has_suffix(s, RECORD_SUFFIX))
                return false;
        memcpy(id, s, LEASE_ID_LEN);
        id[LEASE_ID_LEN] = 0;
        return lease_id_valid(id);
}

/* A name from the directory, safe to log. */
static const char *escape(const char *s, char buf[static 72])
{
        size_t i = 0;

        for (; s[i] && i < 64; i++)
                buf[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
        strcpy(buf + i, s[i] ? "..." : "");
        return buf;
}

/* ---- Records in memory ---- */

void lease_record_done(lease_record *r)
{
        r->devices = mfree(r->devices);
        r->n_devices = 0;
}

void lease_records_free(lease_record *r, size_t n)
{
        for (size_t i = 0; r && i < n; i++)
                lease_record_done(&r[i]);
        free(r);
}

const lease_record_device *lease_record_find_device(const lease_record *r, const char *address)
{
        for (size_t i = 0; i < r->n_devices; i++)
                if (streq(r->devices[i].address, address))
                        return &r->devices[i];
        return NULL;
}

int lease_record_add_device(lease_record *r, const char *address, int group, bool managed,
                            const char *original_driver)
{
        lease_record_device *d;

        if (!pci_address_valid_str(address) || group < 0)
                return -EINVAL;
        if (original_driver && *original_driver && (!managed || !sysfs_name_valid(original_driver)))
                return -EINVAL;
        if (lease_record_find_device(r, address))
                return -EEXIST;
        if (r->n_devices >= LEASE_RECORD_DEVICES_MAX)
                return -E2BIG;
        d = reallocarray(r->devices, r->n_devices + 1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        r->devices = d;
        d = &r->devices[r->n_devices++];
        *d = (lease_record_device){ .group = group, .managed = managed };
        strcpy(d->address, address);
        if (original_driver)
                strcpy(d->original_driver, original_driver);
        return 0;
}

int lease_record_remove_device(lease_record *r, const char *address)
{
        for (size_t i = 0; i < r->n_devices; i++)
                if (streq(r->devices[i].address, address)) {
                        memmove(&r->devices[i], &r->devices[i + 1],
                                (r->n_devices - i - 1) * sizeof(r->devices[0]));
                        r->n_devices--;
                        return 1;
                }
        return 0;
}

/* ---- JSON ---- */

/* Written through the varlink layer's JSON writer, counted and then written into a buffer of
 * that size: building json-c objects and printing them cost more than the rest of an Acquire's
 * bookkeeping together. The bytes are json-c's, as the records always were; lease_record_parse()
 * reads every record back as it was (the fuzz target checks it). */

static void write_number(json_writer *w, bool negative, uint64_t v)
{
        char buf[24], *q = buf + sizeof(buf);

        *--q = 0;
        do
                *--q = (char)('0' + v % 10);
        while ((v /= 10) > 0);
        if (negative)
                *--q = '-';
        json_write_raw(w, q);
}

static void write_int(json_writer *w, const char *key, int64_t v)
{
        json_write_raw(w, key);
        write_number(w, v < 0, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

static void write_string(json_writer *w, const char *key, const char *s)
{
        json_write_raw(w, key);
        json_write_string(w, s, strlen(s));
}

static void write_record(json_writer *w, const lease_record *r)
{
        write_int(w, "{\"version\":", RECORD_VERSION);
        write_string(w, ",\"lease\":", r->id);
        write_int(w, ",\"uid\":", (int64_t)r->uid);
        write_int(w, ",\"holderPid\":", r->holder_pid);
        json_write_raw(w, ",\"holderStartTime\":");
        write_number(w, false, r->holder_start_time);
        write_string(w, ",\"backend\":", r->backend);
        json_write_raw(w, r->path_mode ? ",\"pathMode\":true" : ",\"pathMode\":false");
        if (r->ending)
                json_write_raw(w, ",\"ending\":true");
        json_write_raw(w, ",\"devices\":[");
        for (size_t i = 0; i < r->n_devices; i++) {
                const lease_record_device *d = &r->devices[i];

                write_string(w, i > 0 ? ",{\"address\":" : "{\"address\":", d->address);
                write_int(w, ",\"group\":", d->group);
                json_write_raw(w, d->managed ? ",\"managed\":true" : ",\"managed\":false");
                if (d->managed && d->original_driver[0])
                        write_string(w, ",\"originalDriver\":", d->original_driver);
                if (d->pending)
                        json_write_raw(w, ",\"pending\":true");
                json_write_raw(w, "}");
        }
        json_write_raw(w, "]}\n");
}

int lease_record_format(const lease_record *r, char **ret)
{
        json_writer w = {};

        write_record(&w, r);
        w.buf = malloc(w.len + 1);
        if (!w.buf)
                return -ENOMEM;
        w.len = 0;
        write_record(&w, r);
        w.buf[w.len] = 0;
        *ret = w.buf;
        return 0;
}

typedef struct record_args {
        unsigned version;
        const char *lease;
        unsigned uid;
        int holder_pid;
        uint64_t holder_start_time;
        const char *backend;
        bool path_mode;
        bool ending;
        json_object *devices;
} record_args;

static const vl_field record_fields[] = {
        { "version", vl_field_uint, offsetof(record_args, version), VL_FIELD_MANDATORY },
        { "lease", vl_field_string, offsetof(record_args, lease), VL_FIELD_MANDATORY },
        { "uid", vl_field_uint, offsetof(record_args, uid), VL_FIELD_MANDATORY },
        { "holderPid", vl_field_int, offsetof(record_args, holder_pid), VL_FIELD_MANDATORY },
        { "holderStartTime", vl_field_uint64, offsetof(record_args, holder_start_time),
          VL_FIELD_MANDATORY },
        { "backend", vl_field_string, offsetof(record_args, backend), VL_FIELD_MANDATORY },
        { "pathMode", vl_field_bool, offsetof(record_args, path_mode), 0 },
        { "ending", vl_field_bool, offsetof(record_args, ending), 0 },
        { "devices", vl_field_array, offsetof(record_args, devices), VL_FIELD_MANDATORY },
        {},
};

typedef struct device_args {
        const char *address;
        int group;
        bool managed;
        const char *original_driver;
        bool pending;
} device_args;

static const vl_field device_fields[] = {
        { "address", vl_field_string, offsetof(device_args, address), VL_FIELD_MANDATORY },
        { "group", vl_field_int, offsetof(device_args, group), VL_FIELD_MANDATORY },
        { "managed", vl_field_bool, offsetof(device_args, managed), 0 },
        { "originalDriver", vl_field_string, offsetof(device_args, original_driver), 0 },
        { "pending", vl_field_bool, offsetof(device_args, pending), 0 },
        {},
};

/* vl_dispatch() names an unknown field by its key, which lives only as long as the parsed
 * object: a name that outlives it must come from the table. */
static int dispatch(json_object *o, const vl_field *table, void *args, const char **bad)
{
        int r = vl_dispatch(o, table, args, bad);

        if (r < 0) {
                const char *name = *bad;

                *bad = "unknown field";
                for (const vl_field *f = table; f->name; f++)
                        if (name == f->name)
                                *bad = name;
        }
        return r;
}

static int device_from_json(json_object *o, lease_record *r, const char **bad)
{
        device_args a = {};
        int k;

        if (!json_object_is_type(o, json_type_object)) {
                *bad = "devices";
                return -EINVAL;
        }
        k = dispatch(o, device_fields, &a, bad);
        if (k < 0)
                return k;
        if (!pci_address_valid_str(a.address)) {
                *bad = "address";
                return -EINVAL;
        }
        k = lease_record_add_device(r, a.address, a.group, a.managed, a.original_driver);
        if (k >= 0)
                r->devices[r->n_devices - 1].pending = a.pending;
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                *bad = k == -EEXIST || k == -E2BIG ? "devices"
                       : a.group < 0               ? "group"
                                                   : "originalDriver";
                return -EINVAL;
        }
        return 0;
}

static int record_from_json(json_object *o, lease_record *ret, const char **bad)
{
        lease_record r = {};
        record_args a = {};
        int k;

        k = dispatch(o, record_fields, &a, bad);
        if (k < 0)
                return k;
        if (a.version != RECORD_VERSION)
                *bad = "version";
        else if (!lease_id_valid(a.lease))
                *bad = "lease";
        else if (a.uid == (unsigned)(uid_t)-1)
                *bad = "uid";
        else if (a.holder_pid <= 0)
                *bad = "holderPid";
        else if (a.holder_start_time == UINT64_MAX)
                /* json-c saturates larger numbers to this; no process starts there. */
                *bad = "holderStartTime";
        else if (!backend_name_valid(a.backend))
                *bad = "backend";
        else if (json_object_array_length(a.devices) > LEASE_RECORD_DEVICES_MAX)
                *bad = "devices";
        else
                *bad = NULL;
        if (*bad)
                return -EINVAL;

        strcpy(r.id, a.lease);
        r.uid = (uid_t)a.uid;
        r.holder_pid = a.holder_pid;
        r.holder_start_time = a.holder_start_time;
        strcpy(r.backend, a.backend);
        r.path_mode = a.path_mode;
        r.ending = a.ending;
        for (size_t i = 0; i < json_object_array_length(a.devices); i++) {
                k = device_from_json(json_object_array_get_idx(a.devices, i), &r, bad);
                if (k < 0) {
                        lease_record_done(&r);
                        return k;
                }
        }
        *ret = r;
        return 0;
}

/* json-c keeps C strings: a \u0000 escape would cut a key or value short without a trace. */
static bool text_has_nul(const char *text, size_t len)
{
        if (memchr(text, 0, len))
                return true;
        for (size_t i = 0; i + 1 < len; i++)
                if (text[i] == '\\') {
                        if (text[i + 1] == 'u' && len - i >= 6 &&
                            memcmp(text + i + 2, "0000", 4) == 0)
                                return true;
                        i++; /* the escaped character, so "\\\\u0000" stays text */
                }
        return false;
}

int lease_record_parse(const char *text, size_t len, lease_record *ret, const char **ret_bad)
{
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_json_ json_object *o = NULL;
        const char *bad = NULL;
        size_t end;
        int r;

        if (len > LEASE_RECORD_SIZE_MAX || text_has_nul(text, len)) {
                bad = "text";
                r = -EINVAL;
                goto finish;
        }
        /* A record nests three deep; anything deeper is not one. */
        tok = json_tokener_new_ex(8);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, text, (int)len);
        end = json_tokener_get_parse_end(tok);
        while (end < len && text[end] && strchr(" \t\r\n", text[end]))
                end++;
        if (!o || json_tokener_get_error(tok) != json_tokener_success ||
            !json_object_is_type(o, json_type_object) || end != len) {
                bad = "text";
                r = -EINVAL;
                goto finish;
        }
        r = record_from_json(o, ret, &bad);
finish:
        if (ret_bad)
                *ret_bad = bad;
        return r;
}

/* ---- Files ---- */

/* fsync() of dir_fd itself when it can (the daemon keeps one opened for it), else of a fresh fd:
 * an O_PATH fd cannot be synced. */
static int fsync_dir(int dir_fd)
{
        _cleanup_close_ int fd = -EBADF;

        if (fsync(dir_fd) >= 0)
                return 0;
        if (errno != EBADF)
                return negative_errno();
        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return negative_errno();
        return 0;
}

/* O_DSYNC: each write() returns once its data, and the size that reads them back, are on disk,
 * which is what the fsync() after it gave (the record's timestamps do not matter), in the same
 * syscall. */
static int create_file(int dir_fd, const char *name)
{
        int fd = openat(dir_fd, name,
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_DSYNC, 0600);

        return fd < 0 ? negative_errno() : fd;
}

static int write_file(int dir_fd, const char *name, const char *text)
{
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(text);

        /* The name is the lease's own and every write renames or removes it, so it is there only
         * if a crash left it (lease_store_load() removes those at start) or removing it failed:
         * stale, and replaced. Not unlinked beforehand: that is a syscall for every save. */
        fd = create_file(dir_fd, name);
        if (fd == -EEXIST) {
                if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
                        return negative_errno();
                fd = create_file(dir_fd, name);
        }
        if (fd < 0)
                return fd;
        for (size_t done = 0; done < len;) {
                ssize_t n = write(fd, text + done, len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? negative_errno() : -EIO;
                done += (size_t)n;
        }
        /* close() reports late write errors on some filesystems. */
        if (close(TAKE_FD(fd)) < 0)
                return negative_errno();
        return 0;
}

int lease_store_save(int dir_fd, const lease_record *r)
{
        _cleanup_free_ char *text = NULL;
        char name[LEASE_ID_SIZE + 8], tmp[LEASE_ID_SIZE + 16];
        int k;

        if (!lease_id_valid(r->id) || !backend_name_valid(r->backend))
                return -EINVAL;
        k = lease_record_format(r, &text);
        if (k < 0)
                return k;

        snprintf(name, sizeof(name), "%s" RECORD_SUFFIX, r->id);
        snprintf(tmp, sizeof(tmp), ".%s" TMP_SUFFIX, r->id);
        k = write_file(dir_fd, tmp, text);
        if (k >= 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
                k = negative_errno();
        if (k < 0) {
                (void)unlinkat(dir_fd, tmp, 0);
                return k;
        }
        return fsync_dir(dir_fd);
}

int lease_store_remove(int dir_fd, const char *id)
{
        char name[LEASE_ID_SIZE + 8];

        if (!lease_id_valid(id))
                return -EINVAL;
        snprintf(name, sizeof(name), "%s" RECORD_SUFFIX, id);
        /* Not synced: the unlink is in the kernel at once, so a daemon that is killed, however
         * abruptly, restarts without the record. Only a crash of the machine can bring it back
         * (until the next sync of the directory: the next record written), and then its holder
         * has gone with the machine: the restart ends the lease as it ends any whose holder is
         * gone (lease-restore.c), which the lease had done already. A lease that had managed
         * devices was marked ending, synced, before they went back: that restart finishes the
         * ending the same way. Its holder's pid and start time may match a process of the new
         * boot: so may those of any record the crash interrupted. */
        if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

static int read_record(int dir_fd, const char *name, lease_record *ret, const char **bad)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;
        int r;

        *bad = "file";
        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if (st.st_size > LEASE_RECORD_SIZE_MAX)
                return -EFBIG;
        /* One byte more than stat said, to notice a file that grew. */
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > (size_t)st.st_size)
                        return -EFBIG;
        }
        r = lease_record_parse(buf, len, ret, bad);
        if (r < 0)
                return r;
        if (strncmp(ret->id, name, LEASE_ID_LEN) != 0) {
                lease_record_done(ret);
                *bad = "lease";
                return -EINVAL;
        }
        return 0;
}

static void set_aside(int dir_fd, const char *name, int error, const char *bad)
{
        char bad_name[NAME_MAX + 1], esc[72], esc_bad[72];

        snprintf(bad_name, sizeof(bad_name), "%s" BAD_SUFFIX, name);
        if (renameat(dir_fd, name, dir_fd, bad_name) < 0) {
                log_warning_errno(errno,
                                  "Skipping malformed lease record %s (%s), which cannot be "
                                  "renamed aside: %m",
                                  escape(name, esc), bad ?: "?");
                return;
        }
        log_warning_errno(error, "Skipping malformed lease record %s (%s: %m), kept as %s.",
                          escape(name, esc), bad ?: "?", escape(bad_name, esc_bad));
}

static int cmp_record(const void *a, const void *b)
{
        return strcmp(((const lease_record *)a)->id, ((const lease_record *)b)->id);
}

/* The names first, then the files: renaming entries while reading the directory could make
 * readdir() skip or repeat some. */
static int list_names(int dir_fd, char (**ret)[NAME_MAX + 1], size_t *ret_n)
{
        _cleanup_closedir_ DIR *dir = NULL;
        _cleanup_free_ char(*names)[NAME_MAX + 1] = NULL;
        size_t n = 0, n_alloc = 0;
        struct dirent *de;
        int fd;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        dir = fdopendir(fd);
        if (!dir) {
                safe_close(fd);
                return -ENOMEM;
        }
        errno = 0;
        while ((de = readdir(dir)) && n < DIR_ENTRIES_MAX) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (n == n_alloc) {
                        size_t k = MAX(n_alloc * 2, (size_t)16);
                        char(*p)[NAME_MAX + 1] = reallocarray(names, k, sizeof(*p));

                        if (!p)
                                return -ENOMEM;
                        names = p;
                        n_alloc = k;
                }
                strcpy(names[n++], de->d_name);
        }
        if (errno != 0)
                return negative_errno();
        *ret = TAKE_PTR(names);
        *ret_n = n;
        return 0;
}

int lease_store_load(int dir_fd, lease_record **ret, size_t *ret_n)
{
        _cleanup_free_ char(*names)[NAME_MAX + 1] = NULL;
        lease_record *records = NULL;
        size_t n_names = 0, n = 0;
        int r;

        r = list_names(dir_fd, &names, &n_names);
        if (r < 0)
                return r;
        records = calloc(MAX(n_names, (size_t)1), sizeof(*records));
        if (!records)
                return -ENOMEM;
        for (size_t i = 0; i < n_names; i++) {
                const char *name = names[i], *bad = NULL;
                char esc[72];

                if (name[0] == '.' && has_suffix(name, TMP_SUFFIX)) {
                        log_info("Removing %s, left by an interrupted write.", escape(name, esc));
                        (void)unlinkat(dir_fd, name, 0);
                        continue;
                }
                if (has_suffix(name, BAD_SUFFIX))
                        continue;
                if (!record_name_valid(name)) {
                        log_warning("Ignoring %s in the state directory: not a lease record.",
                                    escape(name, esc));
                        continue;
                }
                r = read_record(dir_fd, name, &records[n], &bad);
                if (r == -ENOMEM) {
                        lease_records_free(records, n);
                        return r;
                }
                if (r < 0) {
                        set_aside(dir_fd, name, r, bad);
                        continue;
                }
                n++;
        }
        qsort(records, n, sizeof(*records), cmp_record);
        *ret = records;
        *ret_n = n;
        return 0;
}
