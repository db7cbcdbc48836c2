/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json-cleanup.h"
#include "tests.h"
#include "wire.h"

static void pair(int sv[2])
{
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
}

static void send_raw(int fd, const char *data, size_t len, const int *fds, size_t n_fds)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 8)];
        } control = {};
        struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n_fds) {
                struct cmsghdr *c;

                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        ASSERT_EQ(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static int next(wire_in *in, json_object **v, int **fds, size_t *n)
{
        *v = NULL;
        *fds = NULL;
        *n = 0;
        return wire_in_next(in, v, fds, n);
}

TEST(split_message)
{
        int sv[2], *fds;
        size_t n;
        json_object *v;
        wire_in in;
        const char *msg = "{\"method\":\"a.B\"}";

        pair(sv);
        wire_in_init(&in, 0);
        /* One byte at a time: nothing until the NUL arrives. */
        for (size_t i = 0; i < strlen(msg); i++) {
                send_raw(sv[1], msg + i, 1, NULL, 0);
                ASSERT_EQ(wire_in_read(&in, sv[0]), 1);
                ASSERT_EQ(next(&in, &v, &fds, &n), 0);
        }
        send_raw(sv[1], "", 1, NULL, 0);
        ASSERT_EQ(wire_in_read(&in, sv[0]), 1);
        ASSERT_EQ(next(&in, &v, &fds, &n), 1);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(v, "method")), "a.B");
        json_object_put(v);
        free(fds);
        ASSERT_EQ(wire_in_read(&in, sv[0]), -EAGAIN);
        wire_in_done(&in);
        close(sv[0]);
        close(sv[1]);
}

TEST(joined_messages)
{
        int sv[2], *fds;
        size_t n;
        json_object *v;
        wire_in in;
        static const char msgs[] = "{\"a\":1}\0{\"a\":2}\0{\"a\":3}\0{\"a\":";

        pair(sv);
        wire_in_init(&in, 0);
        send_raw(sv[1], msgs, sizeof(msgs) - 1, NULL, 0);
        ASSERT_TRUE(wire_in_read(&in, sv[0]) > 0);
        for (int i = 1; i <= 3; i++) {
                ASSERT_TRUE(wire_in_has_message(&in));
                ASSERT_EQ(next(&in, &v, &fds, &n), 1);
                ASSERT_EQ(json_object_get_int(json_object_object_get(v, "a")), i);
                json_object_put(v);
                free(fds);
        }
        ASSERT_FALSE(wire_in_has_message(&in));
        ASSERT_EQ(next(&in, &v, &fds, &n), 0);
        send_raw(sv[1], "4}", 3, NULL, 0);
        ASSERT_TRUE(wire_in_read(&in, sv[0]) > 0);
        ASSERT_EQ(next(&in, &v, &fds, &n), 1);
        ASSERT_EQ(json_object_get_int(json_object_object_get(v, "a")), 4);
        json_object_put(v);
        free(fds);
        wire_in_done(&in);
        close(sv[0]);
        close(sv[1]);
}

TEST(bad_json)
{
        static const char *const bad[] = { "{", "{\"a\":1} x", "", "{\"a\":1}{\"b\":2}", "nul" };
        int sv[2], *fds;
        size_t n;
        json_object *v;
        wire_in in;

        pair(sv);
        wire_in_init(&in, 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                send_raw(sv[1], bad[i], strlen(bad[i]) + 1, NULL, 0);
                ASSERT_TRUE(wire_in_read(&in, sv[0]) > 0);
                ASSERT_ERROR(next(&in, &v, &fds, &n), EBADMSG);
        }
        /* Trailing whitespace is harmless. */
        send_raw(sv[1], "{} \n", 5, NULL, 0);
        ASSERT_TRUE(wire_in_read(&in, sv[0]) > 0);
        ASSERT_EQ(next(&in, &v, &fds, &n), 1);
        json_object_put(v);
        free(fds);
        wire_in_done(&in);
        close(sv[0]);
        close(sv[1]);
}

TEST(strict_json)
{
        /* What a lenient reader takes and a strict peer would not: single quotes, trailing
         * commas, comments, bare words, and invalid UTF-8 (which, echoed in an error reply,
         * would make the reply itself invalid JSON). */
        static const char *const bad[] = {
                "{'method':\"a.B\"}",
                "{\"method\":'a.B'}",
                "{\"a\":[1,2,]}",
                "{\"a\":1,}",
                "{\"a\":1 /* c */}",
                "{\"a\":NaN}",
                "{\"a\":\"\xff\"}",
                "{\"a\":\"\xc3\x28\"}",
                "{\"\xed\xa0\x80\":1}",
                "{\"a\":\"\xf8\x88\x80\x80\x80\"}",
                "{\"a\":\"\xc0\x80\"}",
                "{\"a\":\"\x01\"}",
                "{\"a\":1.}",
                "{\"a\":+1}",
                "{\"a\":-}",
                "{\"a\":\"\\ud800\"}",
                "{\"a\":\"\\udc00\\ud800\"}",
                "{\"a\\u0000b\":1}",
                "{\"a\":\"\\x\"}",
                "{\"a\" 1}",
                "{\"a\":tru}",
                "{\"a\":[1 2]}",
        };
        int sv[2], *fds;
        size_t n;
        json_object *v;
        wire_in in;

        pair(sv);
        wire_in_init(&in, 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                send_raw(sv[1], bad[i], strlen(bad[i]) + 1, NULL, 0);
                ASSERT_TRUE(wire_in_read(&in, sv[0]) > 0);
                if (next(&in, &v, &fds, &n) != -EBADMSG) {
                        fprintf(stderr, "accepted: %s\n", bad[i]);
                        ASSERT_TRUE(false);
                }
        }
        /* Valid UTF-8 and escapes still pass, the NUL escape included: the parameter tables
         * refuse it where a string must not hold one. */
        static const char good[] = "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\u00e9\\u0000"
                                   "\\ud83d\\ude00\\/\",\"b\":[-0.5E-3,1e5,0,true,false,null,{}]}";
        send_raw(sv[1], good, sizeof(good), NULL, 0);
        ASSERT_TRUE(wire_in_read(&in, sv[0]) > 0);
        ASSERT_EQ(next(&in, &v, &fds, &n), 1);
        json_object_put(v);
        free(fds);
        wire_in_done(&in);
        close(sv[0]);
        close(sv[1]);
}

/* The values are the ones json-c's tokener builds from the same text (types, integer rules,
 * doubles keeping their text, repeated keys), except that an escaped character beyond the BMP
 * whose low bits look like a surrogate is itself, not U+FFFD as json-c 0.16 makes it. */
TEST(values_as_json_c_builds_them)
{
        static const char msg[] =
                "{\"i\":[0,-0,-1,9223372036854775807,9223372036854775808,18446744073709551615,"
                "99999999999999999999,-9223372036854775808,-99999999999999999999],"
                "\"d\":[1E+5,-0.0,0.10],\"s\":\"a\\u0000b\\ud836\\udc00\\ud83d\\ude00\\n\","
                "\"k\":1,\"k\":\"last\"}";
        int sv[2], *fds;
        size_t n;
        json_object *v, *a;
        wire_in in;

        pair(sv);
        wire_in_init(&in, 0);
        send_raw(sv[1], msg, sizeof(msg), NULL, 0);
        ASSERT_TRUE(wire_in_read(&in, sv[0]) > 0);
        ASSERT_EQ(next(&in, &v, &fds, &n), 1);
        free(fds);

        a = json_object_object_get(v, "i");
        for (size_t i = 0; i < json_object_array_length(a); i++)
                ASSERT_TRUE(json_object_is_type(json_object_array_get_idx(a, i), json_type_int));
        ASSERT_EQ(json_object_get_int64(json_object_array_get_idx(a, 1)), 0);
        ASSERT_EQ(json_object_get_int64(json_object_array_get_idx(a, 3)), INT64_MAX);
        /* Above INT64_MAX: a uint64, and past UINT64_MAX clamped, as json-c does. */
        ASSERT_TRUE(json_object_get_uint64(json_object_array_get_idx(a, 4)) ==
                    (uint64_t)INT64_MAX + 1);
        ASSERT_TRUE(json_object_get_uint64(json_object_array_get_idx(a, 6)) == UINT64_MAX);
        ASSERT_EQ(json_object_get_int64(json_object_array_get_idx(a, 7)), INT64_MIN);
        ASSERT_EQ(json_object_get_int64(json_object_array_get_idx(a, 8)), INT64_MIN);

        a = json_object_object_get(v, "d");
        ASSERT_TRUE(json_object_is_type(json_object_array_get_idx(a, 0), json_type_double));
        ASSERT_TRUE(json_object_get_double(json_object_array_get_idx(a, 0)) == 1e5);
        /* A parsed double is written back as it came. */
        ASSERT_STREQ(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), "[1E+5,-0.0,0.10]");

        a = json_object_object_get(v, "s");
        ASSERT_EQ(json_object_get_string_len(a), 12);
        ASSERT_TRUE(memcmp(json_object_get_string(a), "a\0b\xf0\x9d\xa0\x80\xf0\x9f\x98\x80\n",
                           12) == 0);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(v, "k")), "last");
        ASSERT_EQ(json_object_object_length(v), 4);
        json_object_put(v);
        wire_in_done(&in);
        close(sv[0]);
        close(sv[1]);
}

/* Bytes on the wire are json-c's own (PLAIN, slashes unescaped): strict peers compare them. */
TEST(writer_matches_json_c)
{
        _cleanup_json_ json_object *v = json_object_new_object();
        json_object *a = json_object_new_array(); /* v's */
        static const char raw[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f\xff\xc3\xa9\0end";
        const char *want;
        char buf[1024];
        size_t len;
        int sv[2];
        ssize_t k;
        wire_out out;

        json_object_array_add(a, json_object_new_int64(INT64_MIN));
        json_object_array_add(a, json_object_new_uint64(UINT64_MAX));
        json_object_array_add(a, json_object_new_double(0.1));
        json_object_array_add(a, json_object_new_double(3));
        json_object_array_add(a, NULL);
        json_object_array_add(a, json_object_new_boolean(false));
        json_object_array_add(a, json_object_new_object());
        json_object_array_add(a, json_object_new_array());
        json_object_object_add(v, "s", json_object_new_string_len(raw, sizeof(raw) - 1));
        json_object_object_add(v, "k\"\x01/", a);
        json_object_object_add(v, "n", NULL);
        want = json_object_to_json_string_length(
                v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

        pair(sv);
        wire_out_init(&out);
        ASSERT_OK(wire_out_push(&out, v, NULL, 0));
        ASSERT_EQ(wire_out_flush(&out, sv[0]), 1);
        k = recv(sv[1], buf, sizeof(buf), 0);
        ASSERT_EQ(k, (ssize_t)len + 1);
        ASSERT_TRUE(memcmp(buf, want, len + 1) == 0);
        wire_out_done(&out);
        close(sv[0]);
        close(sv[1]);
}

/* Nesting as json-c's tokener takes it: up to 32 containers, no value 32 levels down. */
static int nested_at(wire_in *in, const int sv[2], unsigned depth, const char *inner)
{
        char buf[200];
        size_t n;
        int *fds, r;
        json_object *v;

        memset(buf, '[', depth);
        n = depth;
        n += (size_t)sprintf(buf + n, "%s", inner);
        memset(buf + n, ']', depth);
        n += depth;
        buf[n++] = 0;
        send_raw(sv[1], buf, n, NULL, 0);
        ASSERT_TRUE(wire_in_read(in, sv[0]) > 0);
        r = next(in, &v, &fds, &n);
        if (r > 0) {
                json_object_put(v);
                free(fds);
        }
        return r;
}

TEST(depth_limit)
{
        int sv[2];
        wire_in in;

        pair(sv);
        wire_in_init(&in, 0);
        ASSERT_EQ(nested_at(&in, sv, 31, "1"), 1);
        ASSERT_EQ(nested_at(&in, sv, 32, ""), 1);
        ASSERT_ERROR(nested_at(&in, sv, 32, "1"), EBADMSG);
        ASSERT_ERROR(nested_at(&in, sv, 33, ""), EBADMSG);
        /* 40 levels of nesting: well past it. */
        ASSERT_ERROR(nested_at(&in, sv, 40, ""), EBADMSG);
        wire_in_done(&in);
        close(sv[0]);
        close(sv[1]);
}

TEST(size_limit)
{
        char buf[4096];
        int sv[2], r = 0;
        wire_in in;

        memset(buf, ' ', sizeof(buf));
        pair(sv);
        wire_in_init(&in, 1000);
        send_raw(sv[1], buf, sizeof(buf), NULL, 0);
        for (int i = 0; i < 10 && r != -EMSGSIZE; i++)
                r = wire_in_read(&in, sv[0]);
        ASSERT_ERROR(r, EMSGSIZE);
        wire_in_done(&in);
        close(sv[0]);
        close(sv[1]);
}

TEST(fds_with_first_byte)
{
        int sv[2], p[2], *fds;
        size_t n;
        json_object *v;
        wire_in in;
        struct stat a, b;

        pair(sv);
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        wire_in_init(&in, 0);
        send_raw(sv[1], "{\"x\":1}\0{\"x\":2}", 16, p, 2);
        ASSERT_TRUE(wire_in_read(&in, sv[0]) > 0);
        ASSERT_EQ(next(&in, &v, &fds, &n), 1);
        ASSERT_EQ(n, 2);
        ASSERT_OK(fstat(fds[0], &a));
        ASSERT_OK(fstat(p[0], &b));
        ASSERT_TRUE(a.st_ino == b.st_ino);
        ASSERT_TRUE(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
        close_many(fds, n);
        free(fds);
        json_object_put(v);
        /* The second message of the same read got none. */
        ASSERT_EQ(next(&in, &v, &fds, &n), 1);
        ASSERT_EQ(n, 0);
        json_object_put(v);
        free(fds);
        wire_in_done(&in);
        close(p[0]);
        close(p[1]);
        close(sv[0]);
        close(sv[1]);
}

TEST(fds_mid_message_refused)
{
        int sv[2], p[2];
        wire_in in;
        struct stat st;

        pair(sv);
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        wire_in_init(&in, 0);
        send_raw(sv[1], "{\"x\":", 5, NULL, 0);
        ASSERT_TRUE(wire_in_read(&in, sv[0]) > 0);
        send_raw(sv[1], "1}", 3, p, 1);
        ASSERT_ERROR(wire_in_read(&in, sv[0]), EBADMSG);
        /* Nothing leaked: only our own two ends of the pipe are open. */
        close(p[0]);
        ASSERT_TRUE(fstat(p[0], &st) < 0);
        wire_in_done(&in);
        close(p[1]);
        close(sv[0]);
        close(sv[1]);
}

/* Flushes the writer and reads on the other end, honouring the reader's contract (read only while
 * no complete message is buffered), until want messages arrived; checks each one's fd count. */
static void pump_messages(wire_out *out, int wfd, wire_in *in, int rfd, int want,
                          const size_t *want_fds)
{
        int got = 0, *fds;
        size_t n;
        json_object *v;

        while (got < want) {
                ASSERT_OK(wire_out_flush(out, wfd));
                while (wire_in_has_message(in) || wire_in_read(in, rfd) > 0) {
                        if (!wire_in_has_message(in))
                                continue;
                        ASSERT_EQ(next(in, &v, &fds, &n), 1);
                        ASSERT_EQ(n, want_fds[got]);
                        ASSERT_EQ(json_object_get_string_len(json_object_object_get(v, "blob")),
                                  299999);
                        close_many(fds, n);
                        free(fds);
                        json_object_put(v);
                        got++;
                }
        }
}

static json_object *big_message(void)
{
        json_object *big = json_object_new_object();
        char *blob = malloc(300000);

        memset(blob, 'z', 299999);
        blob[299999] = 0;
        json_object_object_add(big, "blob", json_object_new_string(blob));
        free(blob);
        return big;
}

static int *one_fd(int fd)
{
        int *f = malloc(sizeof(int));

        f[0] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        return f;
}

/* A writer on one end of a socket pair, a reader on the other, and a pipe whose read end the
 * tests send as an fd. */
typedef struct channel {
        int sv[2], p[2];
        wire_out out;
        wire_in in;
} channel;

static void channel_open(channel *c)
{
        pair(c->sv);
        ASSERT_OK(pipe2(c->p, O_CLOEXEC));
        wire_out_init(&c->out);
        wire_in_init(&c->in, 0);
}

static void channel_close(channel *c)
{
        wire_out_done(&c->out);
        wire_in_done(&c->in);
        close(c->p[0]);
        close(c->p[1]);
        close(c->sv[0]);
        close(c->sv[1]);
}

TEST(writer_partial_writes_and_fds)
{
        static const size_t none[] = { 0, 0 }, one[] = { 1 };
        _cleanup_json_ json_object *big = big_message();
        channel c;

        channel_open(&c);
        /* Larger than the socket buffer: written in pieces, read back whole. */
        ASSERT_OK(wire_out_push(&c.out, big, NULL, 0));
        ASSERT_OK(wire_out_push(&c.out, big, NULL, 0));
        ASSERT_TRUE(c.out.bytes > 600000);
        pump_messages(&c.out, c.sv[0], &c.in, c.sv[1], 2, none);
        /* A large fd-bearing message after the reader has caught up: the fd arrives with its
         * first byte even though the rest comes in many pieces. */
        ASSERT_OK(wire_out_push(&c.out, big, one_fd(c.p[0]), 1));
        pump_messages(&c.out, c.sv[0], &c.in, c.sv[1], 1, one);
        ASSERT_TRUE(wire_out_empty(&c.out));
        channel_close(&c);
}

typedef struct blob_fill {
        char c;
        size_t n;
} blob_fill;

/* "ccc…" with n c's, written in place. */
static void fill_blob(char *buf, size_t len, void *userdata)
{
        const blob_fill *b = userdata;

        ASSERT_EQ(len, b->n + 2);
        buf[0] = '"';
        memset(buf + 1, b->c, b->n);
        buf[b->n + 1] = '"';
}

/* {"blob":"ccc…"} */
static void push_blob(wire_out *out, char c, size_t n, int *fds, size_t n_fds)
{
        blob_fill b = { .c = c, .n = n };

        ASSERT_OK(wire_out_push_members(
                out,
                &(wire_member){
                        .key = "blob", .fill = fill_blob, .fill_len = n + 2, .userdata = &b },
                1, fds, n_fds));
}

/* Reads one message and checks it is the blob of n c's, and how many fds came with it. */
static void expect_blob(channel *ch, char c, size_t n, size_t n_fds)
{
        json_object *v = NULL, *blob;
        int *fds;
        size_t got_fds;

        /* The reader's contract: read only while no complete message is buffered. */
        while (!wire_in_has_message(&ch->in)) {
                int r;

                ASSERT_TRUE(wire_out_flush(&ch->out, ch->sv[0]) >= 0);
                r = wire_in_read(&ch->in, ch->sv[1]);
                ASSERT_TRUE(r > 0 || r == -EAGAIN);
        }
        ASSERT_EQ(next(&ch->in, &v, &fds, &got_fds), 1);
        ASSERT_EQ(got_fds, n_fds);
        close_many(fds, got_fds);
        free(fds);
        ASSERT_TRUE(json_object_object_get_ex(v, "blob", &blob));
        ASSERT_EQ(json_object_get_string_len(blob), n);
        for (size_t i = 0; i < n; i++)
                ASSERT_TRUE(json_object_get_string(blob)[i] == c);
        json_object_put(v);
}

/* Messages written in place; a large one's buffer is kept for the next large one, which must
 * send its own length and bytes, never the larger buffer's rest. */
TEST(writer_text_in_place)
{
        channel c;

        channel_open(&c);
        push_blob(&c.out, 'a', 10, NULL, 0);
        expect_blob(&c, 'a', 10, 0);
        push_blob(&c.out, 'b', 900000, NULL, 0);
        expect_blob(&c, 'b', 900000, 0);
        push_blob(&c.out, 'c', 300000, one_fd(c.p[0]), 1);
        expect_blob(&c, 'c', 300000, 1);
        /* Two at once: one from the kept buffer, one fresh. */
        push_blob(&c.out, 'd', 700000, NULL, 0);
        push_blob(&c.out, 'e', 800000, NULL, 0);
        expect_blob(&c, 'd', 700000, 0);
        expect_blob(&c, 'e', 800000, 0);
        push_blob(&c.out, 'f', 0, NULL, 0);
        expect_blob(&c, 'f', 0, 0);
        ASSERT_TRUE(wire_out_empty(&c.out));
        channel_close(&c);
}

TEST(fds_glued_to_a_partial_message_are_refused)
{
        _cleanup_json_ json_object *big = big_message();
        channel c;
        int r = 0;

        /* The kernel may hand out the tail of one message and the head of the next, fds and
         * all, in one recvmsg(). Which message the fds belong to is then unknowable, so the
         * reader refuses (as sd-varlink does) rather than guess. */
        channel_open(&c);
        ASSERT_OK(wire_out_push(&c.out, big, NULL, 0));
        ASSERT_OK(wire_out_push(&c.out, big, one_fd(c.p[0]), 1));
        for (int i = 0; i < 100 && r != -EBADMSG; i++) {
                ASSERT_OK(wire_out_flush(&c.out, c.sv[0]));
                while (!wire_in_has_message(&c.in) && (r = wire_in_read(&c.in, c.sv[1])) > 0)
                        ;
                if (wire_in_has_message(&c.in)) {
                        int *fds;
                        size_t n;
                        json_object *v;

                        ASSERT_EQ(next(&c.in, &v, &fds, &n), 1);
                        ASSERT_EQ(n, 0);
                        json_object_put(v);
                        free(fds);
                }
        }
        ASSERT_ERROR(r, EBADMSG);
        channel_close(&c);
}

/* A connection that pipelines does not keep a buffer sized for the largest message it sent:
 * once that is consumed, what is left moves to a buffer of its own size. */
TEST(buffer_shrinks_after_a_large_message)
{
        static const size_t blob = 100000;
        char *data = malloc(blob + 32);
        int sv[2], *fds;
        size_t n, len;
        json_object *v;
        wire_in in;

        ASSERT_TRUE(data);
        len = (size_t)sprintf(data, "{\"a\":\"");
        memset(data + len, 'z', blob);
        len += blob;
        len += (size_t)sprintf(data + len, "\"}") + 1;
        /* The start of the next message, in the same stream. */
        memcpy(data + len, "{\"x\":", 5);
        pair(sv);
        wire_in_init(&in, 0);
        send_raw(sv[1], data, len + 5, NULL, 0);
        while (in.size - in.start < len + 5)
                ASSERT_TRUE(wire_in_read(&in, sv[0]) > 0);
        ASSERT_TRUE(in.alloc > blob);
        ASSERT_EQ(next(&in, &v, &fds, &n), 1);
        ASSERT_EQ(json_object_get_string_len(json_object_object_get(v, "a")), (int)blob);
        json_object_put(v);
        free(fds);
        ASSERT_EQ(in.size - in.start, 5);
        ASSERT_TRUE(in.alloc <= WIRE_IN_KEEP);
        /* The rest of that message still reads, and then an idle reader holds no buffer. */
        send_raw(sv[1], "1}", 3, NULL, 0);
        ASSERT_TRUE(wire_in_read(&in, sv[0]) > 0);
        ASSERT_EQ(next(&in, &v, &fds, &n), 1);
        ASSERT_EQ(json_object_get_int(json_object_object_get(v, "x")), 1);
        json_object_put(v);
        free(fds);
        ASSERT_EQ(in.alloc, 0);
        ASSERT_TRUE(in.buf == NULL);
        wire_in_done(&in);
        free(data);
        close(sv[0]);
        close(sv[1]);
}

TEST(writer_refuses_too_many_fds)
{
        _cleanup_json_ json_object *v = json_object_new_object();
        wire_out out;
        int *fds = calloc(WIRE_FDS_MAX + 1, sizeof(int));

        for (size_t i = 0; i <= WIRE_FDS_MAX; i++)
                fds[i] = -EBADF;
        wire_out_init(&out);
        ASSERT_ERROR(wire_out_push(&out, v, fds, WIRE_FDS_MAX + 1), E2BIG);
        wire_out_done(&out);
}

int main(void)
{
        RUN(split_message);
        RUN(joined_messages);
        RUN(bad_json);
        RUN(strict_json);
        RUN(values_as_json_c_builds_them);
        RUN(writer_matches_json_c);
        RUN(depth_limit);
        RUN(size_limit);
        RUN(fds_with_first_byte);
        RUN(fds_mid_message_refused);
        RUN(writer_partial_writes_and_fds);
        RUN(writer_text_in_place);
        RUN(fds_glued_to_a_partial_message_are_refused);
        RUN(buffer_shrinks_after_a_large_message);
        RUN(writer_refuses_too_many_fds);
        return 0;
}
