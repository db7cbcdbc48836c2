/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replay driver: runs a libFuzzer target over files and directories given on the command line,
 * so every corpus entry (and every crash found once) is a regression test in each meson run.
 * Real fuzzing links the same target with -fsanitize=fuzzer instead of this file. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(int dir_fd, const char *name)
{
        struct stat st;
        int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);

        if (fd < 0 || fstat(fd, &st) < 0) {
                perror(name);
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        if (S_ISDIR(st.st_mode)) {
                DIR *d = fdopendir(fd);
                struct dirent *de;
                int r = 0, n = 0;

                if (!d)
                        return -1;
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.') {
                                if (run_file(dirfd(d), de->d_name) < 0)
                                        r = -1;
                                n++;
                        }
                closedir(d);
                fprintf(stderr, "%s: %d inputs\n", name, n);
                return r;
        }

        uint8_t *buf = malloc((size_t)st.st_size + 1);
        size_t off = 0;
        if (!buf) {
                close(fd);
                return -1;
        }
        while (off < (size_t)st.st_size) {
                ssize_t k = read(fd, buf + off, (size_t)st.st_size - off);
                if (k <= 0)
                        break;
                off += (size_t)k;
        }
        close(fd);
        LLVMFuzzerTestOneInput(buf, off);
        free(buf);
        return 0;
}

int main(int argc, char **argv)
{
        int r = 0;

        for (int i = 1; i < argc; i++)
                if (run_file(AT_FDCWD, argv[i]) < 0)
                        r = 1;
        return r;
}
