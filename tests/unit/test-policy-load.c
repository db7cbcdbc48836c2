/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading a policy directory, and the shipped examples (given their directory). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy-fixtures.h"

/* A scratch directory, removed with its files at the end: under $TMPDIR, else /tmp; never in the
 * working directory, where a test stopped half-way would leave it for a checkout to pick up. */
static char *dir_new(void)
{
        const char *tmp = getenv("TMPDIR");
        char *d = NULL;

        ASSERT_TRUE(asprintf(&d, "%s/test-policy-XXXXXX", tmp ?: "/tmp") > 0);
        ASSERT_TRUE(mkdtemp(d));
        return d;
}

static void dir_write(const char *dir, const char *name, const char *text, mode_t mode)
{
        _cleanup_free_ char *path = NULL, *j = json(text);
        _cleanup_close_ int fd = -EBADF;

        ASSERT_TRUE(asprintf(&path, "%s/%s", dir, name) > 0);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, j, strlen(j)), (ssize_t)strlen(j));
        ASSERT_OK(fchmod(fd, mode));
}

static void dir_remove(char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;

        ASSERT_TRUE(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        ASSERT_OK(unlinkat(dirfd(d), de->d_name,
                                           de->d_type == DT_DIR ? AT_REMOVEDIR : 0));
        closedir(d);
        ASSERT_OK(rmdir(dir));
        free(dir);
}

static const char allow_all[] =
        "{'rules': [{'name': 'all', 'subjects': {'any': true}, 'allow': ['acquire']}]}";

TEST(load_dir_missing_is_empty)
{
        char *dir = dir_new();
        _cleanup_free_ char *missing = NULL;
        policy *p = NULL;
        policy_verdict v;

        ASSERT_TRUE(asprintf(&missing, "%s/policy.d", dir) > 0);
        ASSERT_OK(policy_load_dir(missing, &p, NULL));
        ASSERT_TRUE(p);
        ASSERT_EQ(policy_n_rules(p), 0);
        ASSERT_OK(policy_check(p, &alice, &nic0, POLICY_ACQUIRE, 1, &v));
        ASSERT_FALSE(v.allowed);
        ASSERT_OK(policy_check(p, &root, &nic0, POLICY_ACQUIRE, 1, &v));
        ASSERT_TRUE(v.allowed);
        policy_free(p);
        dir_remove(dir);
}

TEST(load_dir_order_and_skipped_names)
{
        char *dir = dir_new();
        _cleanup_free_ char *sub = NULL;
        policy *p = NULL;
        policy_verdict v;

        /* strcmp() order: "10-" before "9-", whatever the locale would say. */
        dir_write(dir, "9-first-by-number.json",
                  "{'rules': [{'name': 'nine', 'subjects': {'any': true}, 'allow': "
                  "['acquire']}]}",
                  0644);
        dir_write(dir, "10-second-by-number.json",
                  "{'rules': [{'name': 'ten', 'subjects': {'any': true}, 'allow': "
                  "['acquire']}]}",
                  0644);
        dir_write(dir, ".hidden.json", "broken", 0644);
        dir_write(dir, "README", "broken", 0644);
        dir_write(dir, "50-x.json~", "broken", 0644);
        dir_write(dir, "50-x.json.dpkg-old", "broken", 0644);
        dir_write(dir, ".json", "broken", 0644);

        ASSERT_OK(policy_load_dir(dir, &p, NULL));
        ASSERT_EQ(policy_n_rules(p), 2);
        ASSERT_OK(policy_check(p, &alice, &nic0, POLICY_ACQUIRE, 1, &v));
        ASSERT_TRUE(v.allowed);
        ASSERT_STREQ(v.rule, "ten");
        ASSERT_STREQ(v.file, "10-second-by-number.json");
        policy_free(p);
        p = NULL;

        /* A directory named like a policy file is an error, not silently skipped. */
        ASSERT_TRUE(asprintf(&sub, "%s/20-dir.json", dir) > 0);
        ASSERT_OK(mkdir(sub, 0755));
        {
                _cleanup_free_ char *error = NULL;

                ASSERT_ERROR(policy_load_dir(dir, &p, &error), EINVAL);
                ASSERT_STREQ(error, "20-dir.json: not a regular file");
                ASSERT_TRUE(p == NULL);
        }
        dir_remove(dir);
}

TEST(load_dir_broken_file_gives_no_policy)
{
        char *dir = dir_new();
        _cleanup_free_ char *error = NULL;
        policy *p = NULL, *old = policy_new();
        policy *kept = old;

        dir_write(dir, "10-good.json", allow_all, 0644);
        dir_write(dir, "20-bad.json",
                  "{'rules': [{'name': 'vm-users-nics', 'subjects': {'any': true}, 'devices': "
                  "{'ids': ['8086:10d3', '8086-10d3']}, 'allow': ['acquire']}]}",
                  0644);
        ASSERT_ERROR(policy_load_dir(dir, &kept, &error), EINVAL);
        ASSERT_TRUE(kept == old);
        ASSERT_STREQ(error, "20-bad.json: rule \"vm-users-nics\": devices.ids[1]: \"8086-10d3\" "
                            "is not vendor:device");
        free(error);
        error = NULL;

        /* Duplicate names across files. */
        dir_write(dir, "20-bad.json", allow_all, 0644);
        ASSERT_ERROR(policy_load_dir(dir, &p, &error), EINVAL);
        ASSERT_STREQ(error, "20-bad.json: rule \"all\": name: already used in 10-good.json");
        ASSERT_TRUE(p == NULL);
        free(error);
        error = NULL;

        /* Anyone could write such a file: refused, not read. */
        dir_write(dir, "20-bad.json", "{'rules': []}", 0646);
        ASSERT_ERROR(policy_load_dir(dir, &p, &error), EPERM);
        ASSERT_STREQ(error, "20-bad.json: writable by its group or others, refusing it");
        ASSERT_TRUE(p == NULL);
        free(error);
        error = NULL;

        dir_write(dir, "20-bad.json", "{'rules': []}", 0644);
        ASSERT_OK(policy_load_dir(dir, &p, &error));
        ASSERT_TRUE(error == NULL);
        ASSERT_EQ(policy_n_rules(p), 1);
        policy_free(p);
        policy_free(old);
        dir_remove(dir);
}

/* Only a file that nobody but root (the daemon's user) can change is policy: as sudo and polkit
 * have it. */
TEST(load_dir_trusts_only_root_files)
{
        char *dir = dir_new();
        _cleanup_free_ char *path = NULL, *link = NULL, *linked_dir = NULL;
        policy *p = NULL;

        ASSERT_TRUE(asprintf(&path, "%s/20-x.json", dir) > 0);
        dir_write(dir, "20-x.json", allow_all, 0664);
        {
                _cleanup_free_ char *error = NULL;

                ASSERT_ERROR(policy_load_dir(dir, &p, &error), EPERM);
                ASSERT_STREQ(error, "20-x.json: writable by its group or others, refusing it");
        }
        dir_write(dir, "20-x.json", allow_all, 0644);
        if (geteuid() == 0) {
                _cleanup_free_ char *error = NULL;

                ASSERT_OK(chown(path, 1000, 0));
                ASSERT_ERROR(policy_load_dir(dir, &p, &error), EPERM);
                ASSERT_STREQ(error, "20-x.json: owned by uid 1000, not root, refusing it");
                ASSERT_OK(chown(path, 0, 0));
        }
        ASSERT_OK(policy_load_dir(dir, &p, NULL));
        policy_free(p);
        p = NULL;

        /* A symlink is not followed, wherever it points. */
        ASSERT_TRUE(asprintf(&link, "%s/30-link.json", dir) > 0);
        ASSERT_OK(symlink("20-x.json", link));
        {
                _cleanup_free_ char *error = NULL;

                ASSERT_ERROR(policy_load_dir(dir, &p, &error), ELOOP);
                ASSERT_STREQ(error, "30-link.json: a symlink, refusing it");
        }
        ASSERT_OK(unlink(link));

        /* The directory: the same rules, since whoever can write it can add files. */
        ASSERT_OK(chmod(dir, 0775));
        {
                _cleanup_free_ char *error = NULL, *expected = NULL;

                ASSERT_TRUE(asprintf(&expected,
                                     "%s: writable by its group or others, refusing "
                                     "it",
                                     dir) > 0);
                ASSERT_ERROR(policy_load_dir(dir, &p, &error), EPERM);
                ASSERT_STREQ(error, expected);
        }
        ASSERT_OK(chmod(dir, 0755));
        ASSERT_TRUE(asprintf(&linked_dir, "%s-link", dir) > 0);
        ASSERT_OK(symlink(dir, linked_dir));
        ASSERT_ERROR(policy_load_dir(linked_dir, &p, NULL), ELOOP);
        ASSERT_TRUE(p == NULL);
        ASSERT_OK(unlink(linked_dir));
        dir_remove(dir);
}

TEST(load_dir_not_a_directory)
{
        char *dir = dir_new();
        _cleanup_free_ char *file = NULL, *error = NULL, *expected = NULL;
        policy *p = NULL;

        dir_write(dir, "policy.d", "", 0644);
        ASSERT_TRUE(asprintf(&file, "%s/policy.d", dir) > 0);
        ASSERT_TRUE(asprintf(&expected, "%s: cannot open: Not a directory", file) > 0);
        ASSERT_ERROR(policy_load_dir(file, &p, &error), ENOTDIR);
        ASSERT_STREQ(error, expected);
        ASSERT_TRUE(p == NULL);
        ASSERT_ERROR(policy_load_dir(NULL, &p, NULL), EINVAL);
        dir_remove(dir);
}

/* The shipped examples: each file alone, then the directory as a whole, then what they say. */
static void copy_file(const char *dir, const char *name, const char *text, size_t len)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;

        ASSERT_TRUE(asprintf(&path, "%s/%s", dir, name) > 0);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, text, len), (ssize_t)len);
        ASSERT_OK(fchmod(fd, 0644));
}

static int test_examples(const char *dir)
{
        char *copy = dir_new();
        _cleanup_(policy_freep) policy *p = NULL;
        _cleanup_free_ char *error = NULL;
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n_files = 0;
        policy_verdict v;
        int r;

        ASSERT_TRUE(d);
        while ((de = readdir(d))) {
                _cleanup_(policy_freep) policy *one = policy_new();
                _cleanup_free_ char *text = NULL, *message = NULL;
                struct stat st;
                int fd;

                if (de->d_name[0] == '.')
                        continue;
                fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
                ASSERT_TRUE(fd >= 0);
                ASSERT_OK(fstat(fd, &st));
                text = malloc((size_t)st.st_size + 1);
                ASSERT_EQ(read(fd, text, (size_t)st.st_size), st.st_size);
                close(fd);
                copy_file(copy, de->d_name, text, (size_t)st.st_size);
                r = policy_parse(text, (size_t)st.st_size, de->d_name, one, &message);
                if (r < 0)
                        fprintf(stderr, "%s\n", message ?: de->d_name);
                ASSERT_OK(r);
                ASSERT_TRUE(policy_n_rules(one) > 0);
                fprintf(stderr, "%s: %zu rules\n", de->d_name, policy_n_rules(one));
                n_files++;
        }
        closedir(d);
        ASSERT_TRUE(n_files >= 3);

        /* Loaded from a copy: a checkout's owner and umask are not the policy's. */
        r = policy_load_dir(copy, &p, &error);
        if (r < 0)
                fprintf(stderr, "%s\n", error ?: dir);
        ASSERT_OK(r);
        dir_remove(copy);

        /* vm@ units of kvm members get Intel NICs, up to the limit; GPUs never. */
        ASSERT_TRUE(allowed(p, &alice, &nic0));
        ASSERT_OK(policy_check(p, &alice, &nic0, POLICY_ACQUIRE, 100, &v));
        ASSERT_FALSE(v.allowed);
        ASSERT_FALSE(allowed(p, &alice, &gpu));
        ASSERT_FALSE(allowed(p, &alice, &nvme));
        ASSERT_FALSE(allowed(p, &bob, &nic0));
        return 0;
}

int main(int argc, char **argv)
{
        if (argc > 1)
                return test_examples(argv[1]);

        RUN(load_dir_missing_is_empty);
        RUN(load_dir_order_and_skipped_names);
        RUN(load_dir_broken_file_gives_no_policy);
        RUN(load_dir_trusts_only_root_files);
        RUN(load_dir_not_a_directory);
        return 0;
}
