/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../fakesys/fakesys.h"
#include "json-cleanup.h"
#include "lease-store.h"
#include "log.h"
#include "tests.h"

#define ID1 "00112233445566778899aabbccddeeff"
#define ID2 "ffeeddccbbaa99887766554433221100"

static void record_init(lease_record *r, const char *id)
{
        *r = (lease_record){ .uid = 1000, .holder_pid = 4242, .holder_start_time = 123456789 };
        strcpy(r->id, id);
        strcpy(r->backend, "iommufd");
}

TEST(ids)
{
        static char many[100][LEASE_ID_SIZE];
        char a[LEASE_ID_SIZE], b[LEASE_ID_SIZE];

        ASSERT_OK(lease_id_new(a));
        ASSERT_OK(lease_id_new(b));
        ASSERT_TRUE(lease_id_valid(a) && lease_id_valid(b));
        ASSERT_TRUE(strcmp(a, b) != 0);
        /* Drawn a batch at a time: across many batches, each id valid and new. */
        for (size_t i = 0; i < ELEMENTSOF(many); i++) {
                ASSERT_OK(lease_id_new(many[i]));
                ASSERT_TRUE(lease_id_valid(many[i]));
                for (size_t j = 0; j < i; j++)
                        ASSERT_TRUE(strcmp(many[i], many[j]) != 0);
        }
        ASSERT_TRUE(lease_id_valid(ID1));
        ASSERT_FALSE(lease_id_valid("00112233445566778899AABBCCDDEEFF"));
        ASSERT_FALSE(lease_id_valid("00112233445566778899aabbccddeef"));
        ASSERT_FALSE(lease_id_valid("00112233445566778899aabbccddeeff0"));
        ASSERT_FALSE(lease_id_valid("../12233445566778899aabbccddeeff"));
        ASSERT_FALSE(lease_id_valid(NULL));
}

TEST(devices)
{
        lease_record r;

        record_init(&r, ID1);
        ASSERT_OK(lease_record_add_device(&r, "0000:00:03.0", 2, true, "virtio-pci"));
        ASSERT_OK(lease_record_add_device(&r, "0000:00:03.1", 2, false, NULL));
        ASSERT_OK(lease_record_add_device(&r, "0000:00:04.0", 3, true, ""));
        ASSERT_ERROR(lease_record_add_device(&r, "0000:00:03.0", 2, false, NULL), EEXIST);
        ASSERT_ERROR(lease_record_add_device(&r, "0000:00:03.8", 2, false, NULL), EINVAL);
        ASSERT_ERROR(lease_record_add_device(&r, "0000:00:05.0", -1, false, NULL), EINVAL);
        ASSERT_ERROR(lease_record_add_device(&r, "0000:00:05.0", 4, false, "e1000"), EINVAL);
        ASSERT_ERROR(lease_record_add_device(&r, "0000:00:05.0", 4, true, "../e1000"), EINVAL);
        ASSERT_EQ(r.n_devices, 3);
        ASSERT_STREQ(lease_record_find_device(&r, "0000:00:03.0")->original_driver, "virtio-pci");
        ASSERT_EQ(lease_record_remove_device(&r, "0000:00:03.1"), 1);
        ASSERT_EQ(lease_record_remove_device(&r, "0000:00:03.1"), 0);
        ASSERT_EQ(r.n_devices, 2);
        ASSERT_STREQ(r.devices[1].address, "0000:00:04.0");
        lease_record_done(&r);
}

static void assert_records_equal(const lease_record *a, const lease_record *b)
{
        ASSERT_STREQ(a->id, b->id);
        ASSERT_EQ(a->uid, b->uid);
        ASSERT_EQ(a->holder_pid, b->holder_pid);
        ASSERT_TRUE(a->holder_start_time == b->holder_start_time);
        ASSERT_STREQ(a->backend, b->backend);
        ASSERT_EQ(a->path_mode, b->path_mode);
        ASSERT_EQ(a->ending, b->ending);
        ASSERT_EQ(a->n_devices, b->n_devices);
        for (size_t i = 0; i < a->n_devices; i++) {
                ASSERT_STREQ(a->devices[i].address, b->devices[i].address);
                ASSERT_EQ(a->devices[i].group, b->devices[i].group);
                ASSERT_EQ(a->devices[i].managed, b->devices[i].managed);
                ASSERT_EQ(a->devices[i].pending, b->devices[i].pending);
                ASSERT_STREQ(a->devices[i].original_driver, b->devices[i].original_driver);
        }
}

TEST(round_trip)
{
        _cleanup_free_ char *text = NULL;
        lease_record r, back;
        const char *bad = "x";

        record_init(&r, ID1);
        r.holder_start_time = UINT64_MAX - 1;
        r.uid = 4294967294u;
        r.path_mode = true;
        /* Ended, its devices being put back. */
        r.ending = true;
        strcpy(r.backend, "legacy");
        ASSERT_OK(lease_record_add_device(&r, "0000:01:01.0", 3, true, "e1000"));
        ASSERT_OK(lease_record_add_device(&r, "0000:01:02.0", 3, true, NULL));
        ASSERT_OK(lease_record_add_device(&r, "0000:00:04.0", 3, false, NULL));
        /* A driver name may hold what JSON escapes. */
        ASSERT_OK(lease_record_add_device(&r, "0000:00:05.0", 4, true, "a\"b\\c"));
        /* An acquire that has not answered yet. */
        r.devices[1].pending = true;
        ASSERT_OK(lease_record_format(&r, &text));
        ASSERT_OK(lease_record_parse(text, strlen(text), &back, &bad));
        ASSERT_TRUE(bad == NULL);
        assert_records_equal(&r, &back);
        lease_record_done(&back);
        ASSERT_STRCONTAINS(text, "\"originalDriver\":\"a\\\"b\\\\c\"");

        /* No devices (all hot-removed) is still a lease; the text as json-c printed it before
         * (compact, no spaces), one line. */
        lease_record_done(&r);
        record_init(&r, ID2);
        text = mfree(text);
        ASSERT_OK(lease_record_format(&r, &text));
        ASSERT_STREQ(text,
                     "{\"version\":1,\"lease\":\"" ID2 "\",\"uid\":1000,\"holderPid\":4242,"
                     "\"holderStartTime\":123456789,\"backend\":\"iommufd\",\"pathMode\":false,"
                     "\"devices\":[]}\n");
        ASSERT_OK(lease_record_parse(text, strlen(text), &back, NULL));
        assert_records_equal(&r, &back);
        lease_record_done(&back);
        lease_record_done(&r);
}

#define REC(before, devices, after)                                                                \
        "{" before "\"version\": 1, \"lease\": \"" ID1 "\", \"uid\": 1000, \"holderPid\": 42, "    \
        "\"holderStartTime\": 99, \"backend\": \"iommufd\", \"devices\": [" devices "]" after "}"
#define DEV(x) "{\"address\": \"0000:00:03.0\", \"group\": 2" x "}"

static void expect_bad(const char *text, size_t len, const char *field)
{
        lease_record r;
        const char *bad = NULL;

        if (lease_record_parse(text, len, &r, &bad) != -EINVAL) {
                fprintf(stderr, "accepted: %s\n", text);
                abort();
        }
        ASSERT_STREQ(bad, field);
}

#define BAD(text, field) expect_bad(text, sizeof(text) - 1, field)

TEST(refusals)
{
        lease_record r;

        ASSERT_OK(lease_record_parse(REC("", DEV(""), ""), strlen(REC("", DEV(""), "")), &r, NULL));
        ASSERT_EQ(r.n_devices, 1);
        ASSERT_FALSE(r.devices[0].managed);
        lease_record_done(&r);
        ASSERT_OK(lease_record_parse(" \n" REC("", "", ", \"pathMode\": null") "\n\n",
                                     strlen(" \n" REC("", "", ", \"pathMode\": null") "\n\n"), &r,
                                     NULL));
        lease_record_done(&r);

        BAD("{\"version\": 2, \"lease\": \"" ID1 "\", \"uid\": 1, \"holderPid\": 1, "
            "\"holderStartTime\": 1, \"backend\": \"fake\", \"devices\": []}",
            "version");
        BAD("{\"version\": 1, \"uid\": 1, \"holderPid\": 1, \"holderStartTime\": 1, "
            "\"backend\": \"fake\", \"devices\": []}",
            "lease");
        BAD(REC("", "", ", \"lease\": \"00112233445566778899AABBCCDDEEFF\""), "lease");
        BAD(REC("", "", ", \"uid\": -1"), "uid");
        BAD(REC("", "", ", \"uid\": 4294967295"), "uid");
        BAD(REC("", "", ", \"uid\": 4294967296"), "uid");
        BAD(REC("", "", ", \"uid\": \"1000\""), "uid");
        BAD(REC("", "", ", \"uid\": 1000.0"), "uid");
        BAD(REC("", "", ", \"holderPid\": 0"), "holderPid");
        BAD(REC("", "", ", \"holderPid\": 1099511627776"), "holderPid");
        BAD(REC("", "", ", \"holderStartTime\": -1"), "holderStartTime");
        BAD(REC("", "", ", \"holderStartTime\": 18446744073709551616"), "holderStartTime");
        BAD(REC("", "", ", \"backend\": \"\""), "backend");
        BAD(REC("", "", ", \"backend\": \"Fake\""), "backend");
        BAD(REC("", "", ", \"backend\": \"a-backend-name-too-long\""), "backend");
        BAD(REC("", "", ", \"backend\": \"ba\\nd\""), "backend");
        BAD(REC("", "", ", \"pathMode\": 1"), "pathMode");
        BAD(REC("", "", ", \"ending\": \"yes\""), "ending");
        BAD(REC("", "", ", \"devices\": {}"), "devices");
        BAD(REC("", "", ", \"devices\": null"), "devices");
        BAD(REC("", "", ", \"extra\": 1"), "unknown field");
        BAD(REC("", "1", ""), "devices");
        BAD(REC("", DEV(", \"managed\": 1"), ""), "managed");
        BAD(REC("", "{\"address\": \"0000:00:03.8\", \"group\": 2}", ""), "address");
        BAD(REC("", "{\"address\": \"0000:00:03.0\"}", ""), "group");
        BAD(REC("", "{\"address\": \"0000:00:03.0\", \"group\": -1}", ""), "group");
        BAD(REC("", DEV(", \"originalDriver\": \"e1000\""), ""), "originalDriver");
        BAD(REC("", DEV(", \"managed\": true, \"originalDriver\": \"../e1000\""), ""),
            "originalDriver");
        BAD(REC("", DEV(", \"color\": \"red\""), ""), "unknown field");
        BAD(REC("", DEV(", \"pending\": \"yes\""), ""), "pending");
        BAD(REC("", DEV("") "," DEV(""), ""), "devices");

        BAD("", "text");
        BAD("[]", "text");
        BAD("{} {}", "text");
        BAD(REC("", "", "") " x", "text");
        BAD("{\"version\": 1,", "text");
        BAD("{\"version\": 1, /* c */ }", "text");
        BAD(REC("", "", "") "\0", "text");
        BAD(REC("\"lease\\u0000x\": 1, ", "", ""), "text");
        BAD(REC("", "", ", \"backend\": \"caf\xc3\""), "text");
        BAD("{\"a\": [[[[[[[[[[1]]]]]]]]]]}", "text");
        /* An escaped backslash before "u0000" is text, not an escape. */
        BAD(REC("", "", ", \"backend\": \"x\\\\u0000\""), "backend");
}

static int open_dir(char *path)
{
        int fd;

        ASSERT_TRUE(mkdtemp(path));
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        return fd;
}

static void put(int dir_fd, const char *name, const char *text, size_t len)
{
        int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, text, len), (ssize_t)len);
        close(fd);
}

static bool exists(int dir_fd, const char *name)
{
        struct stat st;

        return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static size_t load(int dir_fd, lease_record **ret)
{
        size_t n;

        ASSERT_OK(lease_store_load(dir_fd, ret, &n));
        return n;
}

TEST(store)
{
        char path[] = "/tmp/ioasid-leases-XXXXXX";
        int dir_fd = open_dir(path), rw_fd;
        lease_record a, b, *got;
        fakesys_capture cap;
        const char *log;
        struct stat st;
        _cleanup_free_ char *big = NULL;

        record_init(&a, ID1);
        ASSERT_OK(lease_record_add_device(&a, "0000:00:03.0", 2, true, "virtio-pci"));
        record_init(&b, ID2);
        b.uid = 0;
        ASSERT_OK(lease_store_save(dir_fd, &b));
        ASSERT_OK(lease_store_save(dir_fd, &a));
        ASSERT_OK(fstatat(dir_fd, ID1 ".json", &st, 0));
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_FALSE(exists(dir_fd, "." ID1 ".json.tmp"));

        ASSERT_EQ(load(dir_fd, &got), 2);
        assert_records_equal(&got[0], &a); /* sorted by id */
        assert_records_equal(&got[1], &b);
        lease_records_free(got, 2);

        /* Saving again replaces. */
        ASSERT_OK(lease_record_add_device(&a, "0000:00:03.1", 2, false, NULL));
        ASSERT_OK(lease_store_save(dir_fd, &a));
        ASSERT_EQ(load(dir_fd, &got), 2);
        assert_records_equal(&got[0], &a);
        lease_records_free(got, 2);

        /* A temporary file that a crash or a failed removal left is replaced, not a conflict;
         * through an fd that fsync() takes as well as through an O_PATH one. */
        put(dir_fd, "." ID1 ".json.tmp", "{\"ver", 5);
        ASSERT_OK(lease_store_save(dir_fd, &a));
        ASSERT_FALSE(exists(dir_fd, "." ID1 ".json.tmp"));
        rw_fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(rw_fd >= 0);
        put(dir_fd, "." ID1 ".json.tmp", "", 0);
        ASSERT_OK(lease_store_save(rw_fd, &a));
        ASSERT_FALSE(exists(dir_fd, "." ID1 ".json.tmp"));
        ASSERT_EQ(load(rw_fd, &got), 2);
        assert_records_equal(&got[0], &a);
        lease_records_free(got, 2);
        close(rw_fd);

        ASSERT_OK(lease_store_remove(dir_fd, ID2));
        ASSERT_OK(lease_store_remove(dir_fd, ID2));
        ASSERT_ERROR(lease_store_remove(dir_fd, "../x"), EINVAL);
        ASSERT_EQ(load(dir_fd, &got), 1);
        lease_records_free(got, 1);

        /* What a crash and a careless hand leave behind. */
        put(dir_fd, ".ffeeddccbbaa99887766554433221100.json.tmp", "{\"ver", 5);
        put(dir_fd, "ffeeddccbbaa99887766554433221100.json", "{\"version\": 1,", 14);
        put(dir_fd, "0123456789abcdef0123456789abcdef.json", REC("", "", ""),
            strlen(REC("", "", "")));
        ASSERT_OK(symlinkat(ID1 ".json", dir_fd, "11111111111111111111111111111111.json"));
        ASSERT_OK(mkdirat(dir_fd, "22222222222222222222222222222222.json", 0700));
        big = calloc(1, LEASE_RECORD_SIZE_MAX + 2);
        memset(big, ' ', LEASE_RECORD_SIZE_MAX + 1);
        put(dir_fd, "33333333333333333333333333333333.json", big, LEASE_RECORD_SIZE_MAX + 1);
        put(dir_fd, "README", "not ours", 8);
        put(dir_fd, "old.json.bad", "x", 1);

        fakesys_capture_begin(&cap);
        ASSERT_EQ(load(dir_fd, &got), 1);
        log = fakesys_capture_end(&cap);
        assert_records_equal(&got[0], &a);
        lease_records_free(got, 1);
        ASSERT_STRCONTAINS(log, "ffeeddccbbaa99887766554433221100.json (text");
        ASSERT_STRCONTAINS(log, "0123456789abcdef0123456789abcdef.json (lease");
        ASSERT_STRCONTAINS(log, "11111111111111111111111111111111.json (file");
        ASSERT_STRCONTAINS(log, "README");
        ASSERT_FALSE(exists(dir_fd, ".ffeeddccbbaa99887766554433221100.json.tmp"));
        ASSERT_TRUE(exists(dir_fd, "ffeeddccbbaa99887766554433221100.json.bad"));
        ASSERT_TRUE(exists(dir_fd, "0123456789abcdef0123456789abcdef.json.bad"));
        ASSERT_TRUE(exists(dir_fd, "11111111111111111111111111111111.json.bad"));
        ASSERT_TRUE(exists(dir_fd, "22222222222222222222222222222222.json.bad"));
        ASSERT_TRUE(exists(dir_fd, "33333333333333333333333333333333.json.bad"));
        ASSERT_TRUE(exists(dir_fd, "README"));
        ASSERT_TRUE(exists(dir_fd, ID1 ".json"));

        /* Set aside once: the next start reads only the good one, quietly. */
        fakesys_capture_begin(&cap);
        ASSERT_EQ(load(dir_fd, &got), 1);
        log = fakesys_capture_end(&cap);
        lease_records_free(got, 1);
        ASSERT_TRUE(strstr(log, ".bad") == NULL);

        lease_record_done(&a);
        lease_record_done(&b);
        close(dir_fd);
        ASSERT_OK(nftw(path, fakesys_rm_one, 16, FTW_DEPTH | FTW_PHYS));
}

static int parse(const char *text, char *state, uint64_t *start)
{
        return lease_proc_stat_parse(text, strlen(text), state, start);
}

#define TAIL " 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 "

TEST(proc_stat)
{
        char state;
        uint64_t start;

        ASSERT_OK(parse("42 (qemu) S" TAIL "987654 0 0\n", &state, &start));
        ASSERT_EQ(state, 'S');
        ASSERT_TRUE(start == 987654);
        /* comm is anything up to the last ')'. */
        ASSERT_OK(parse("42 (a) (b c) 9 ) R" TAIL "5 0\n", &state, &start));
        ASSERT_EQ(state, 'R');
        ASSERT_TRUE(start == 5);
        ASSERT_OK(parse("42 ()) Z" TAIL "18446744073709551615", &state, &start));
        ASSERT_TRUE(start == UINT64_MAX);
        ASSERT_EQ(state, 'Z');
        ASSERT_OK(parse("42 () S" TAIL "7", &state, &start));

        ASSERT_ERROR(parse("42 (q) S" TAIL "18446744073709551616", &state, &start), EBADMSG);
        ASSERT_ERROR(parse("42 (q) S" TAIL, &state, &start), EBADMSG);
        ASSERT_ERROR(parse("42 (q) S 1 2 3", &state, &start), EBADMSG);
        ASSERT_ERROR(parse("42 (q) SS" TAIL "7", &state, &start), EBADMSG);
        ASSERT_ERROR(parse("42 (q) 1" TAIL "7", &state, &start), EBADMSG);
        ASSERT_ERROR(parse("42 (q) S" TAIL "7x", &state, &start), EBADMSG);
        ASSERT_ERROR(parse("42 (q) S" TAIL "-7", &state, &start), EBADMSG);
        ASSERT_ERROR(parse("42 (q)  S" TAIL "7", &state, &start), EBADMSG);
        ASSERT_ERROR(parse("42 (q S" TAIL "7", &state, &start), EBADMSG);
        ASSERT_ERROR(parse("(q) S" TAIL "7", &state, &start), EBADMSG);
        ASSERT_ERROR(parse("42 q) S" TAIL "7", &state, &start), EBADMSG);
        ASSERT_ERROR(parse("", &state, &start), EBADMSG);
}

TEST(holder)
{
        uint64_t me, child_start, whole;
        int pidfd, p[2], r;
        bool have_pidfd;
        pid_t child;
        char c, text[4096];
        size_t n;
        FILE *f;

        ASSERT_OK(lease_holder_start_time(getpid(), &me));
        /* What one read gave is what the whole file says. */
        f = fopen("/proc/self/stat", "re");
        ASSERT_TRUE(f);
        n = fread(text, 1, sizeof(text), f);
        ASSERT_TRUE(n > 0 && feof(f));
        fclose(f);
        ASSERT_OK(lease_proc_stat_parse(text, n, &c, &whole));
        ASSERT_EQ(whole, me);
        ASSERT_EQ(lease_holder_alive(getpid(), me), 1);
        ASSERT_EQ(lease_holder_alive(getpid(), me + 1), 0);
        ASSERT_EQ(lease_holder_alive(0x7ffffffe, me), 0);
        ASSERT_ERROR(lease_holder_start_time(0, &me), EINVAL);
        r = lease_holder_pidfd(getpid(), me, &pidfd);
        /* Memory checkers may lack pidfd_open(). */
        have_pidfd = r != -ENOSYS;
        if (have_pidfd) {
                ASSERT_OK(r);
                ASSERT_TRUE(pidfd >= 0);
                close(pidfd);
                ASSERT_ERROR(lease_holder_pidfd(getpid(), me + 1, &pidfd), ESRCH);
        }

        /* A holder whose name is made to confuse a parser. */
        ASSERT_OK(pipe(p));
        child = fork();
        ASSERT_TRUE(child >= 0);
        if (child == 0) {
                prctl(PR_SET_NAME, "x) (y z) R 1 2");
                if (write(p[1], "", 1) != 1)
                        _exit(1);
                pause();
                _exit(0);
        }
        ASSERT_EQ(read(p[0], &c, 1), 1);
        ASSERT_OK(lease_holder_start_time(child, &child_start));
        ASSERT_TRUE(child_start >= me);
        ASSERT_EQ(lease_holder_alive(child, child_start), 1);
        ASSERT_OK(kill(child, SIGKILL));
        /* Dead but not reaped: a zombie holds no fds, its lease is over. */
        for (int i = 0; i < 1000 && lease_holder_alive(child, child_start) != 0; i++)
                usleep(1000);
        ASSERT_EQ(lease_holder_alive(child, child_start), 0);
        if (have_pidfd)
                ASSERT_ERROR(lease_holder_pidfd(child, child_start, &pidfd), ESRCH);
        ASSERT_EQ(waitpid(child, NULL, 0), child);
        ASSERT_EQ(lease_holder_alive(child, child_start), 0);
        close(p[0]);
        close(p[1]);
}

int main(void)
{
        log_parse_env();
        RUN(ids);
        RUN(devices);
        RUN(round_trip);
        RUN(refusals);
        RUN(store);
        RUN(proc_stat);
        RUN(holder);
        return 0;
}
