/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "sysfs-internal.h"
#include "sysfs.h"

/* ---- Text ---- */

int sysfs_attr_clean(char *buf, size_t len)
{
        if (len > 0 && buf[len - 1] == '\n')
                len--;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
                        return -EBADMSG;
        buf[len] = 0;
        return (int)len;
}

bool sysfs_name_valid(const char *s)
{
        size_t n = strnlen(s, SYSFS_NAME_MAX + 1);

        if (n == 0 || n > SYSFS_NAME_MAX || streq(s, ".") || streq(s, ".."))
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '/')
                        return false;
        return true;
}

bool sysfs_numbered_name(const char *s, const char *prefix)
{
        size_t len = strlen(s), plen = strlen(prefix);

        return len > plen && len <= 32 && strncmp(s, prefix, plen) == 0 &&
               strspn(s + plen, "0123456789") == len - plen;
}

static int parse_decimal(const char *s, bool leading_zero, unsigned long max, unsigned long *ret)
{
        unsigned long v = 0;

        if (!s[0] || (!leading_zero && s[0] == '0' && s[1]))
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (v > (max - (unsigned long)(*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (unsigned long)(*p - '0');
        }
        *ret = v;
        return 0;
}

int sysfs_parse_group(const char *s, int *ret)
{
        unsigned long v;
        int r = parse_decimal(s, false, INT_MAX, &v);

        if (r < 0)
                return r;
        *ret = (int)v;
        return 0;
}

int sysfs_parse_uint(const char *s, int *ret)
{
        unsigned long v;
        int r = parse_decimal(s, true, INT_MAX, &v);

        if (r < 0)
                return r;
        *ret = (int)v;
        return 0;
}

int sysfs_parse_devnum(const char *s, dev_t *ret)
{
        char major[16], minor[16];
        const char *colon = strchr(s, ':');
        unsigned long ma, mi;
        int r;

        if (!colon || (size_t)(colon - s) >= sizeof(major) || strlen(colon + 1) >= sizeof(minor))
                return -EINVAL;
        memcpy(major, s, (size_t)(colon - s));
        major[colon - s] = 0;
        strcpy(minor, colon + 1);
        /* The kernel's dev_t: 12 bits of major, 20 of minor. */
        r = parse_decimal(major, false, 0xfff, &ma);
        if (r >= 0)
                r = parse_decimal(minor, false, 0xfffff, &mi);
        if (r < 0)
                return r;
        *ret = makedev(ma, mi);
        return 0;
}

bool sysfs_id_valid(const char *s, size_t n_digits)
{
        if (strnlen(s, n_digits + 3) != n_digits + 2 || s[0] != '0' || s[1] != 'x')
                return false;
        for (size_t i = 2; i < n_digits + 2; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

int sysfs_link_resolve(const char *dir, const char *target, char *ret, size_t size)
{
        size_t len = strlen(dir);

        if (!target[0])
                return -EINVAL;
        if (target[0] == '/')
                return -EXDEV;
        if (len >= size)
                return -ENAMETOOLONG;
        memcpy(ret, dir, len + 1);

        for (const char *p = target; *p;) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        char *slash;

                        if (len == 0)
                                return -EXDEV;
                        slash = memrchr(ret, '/', len);
                        len = slash ? (size_t)(slash - ret) : 0;
                        ret[len] = 0;
                } else if (n > 0 && !(n == 1 && p[0] == '.')) {
                        size_t need = len + (len > 0) + n;

                        if (need >= size)
                                return -ENAMETOOLONG;
                        if (len > 0)
                                ret[len++] = '/';
                        memcpy(ret + len, p, n);
                        len += n;
                        ret[len] = 0;
                }
                p += n;
                p += *p == '/';
        }
        return 0;
}

/* Exactly n hex digits, either case (the kernel prints ids with %X, sysfs attributes with %x). */
static bool parse_hex(const char *s, size_t n, unsigned *ret)
{
        unsigned v = 0;

        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (c >= '0' && c <= '9')
                        v = v << 4 | (unsigned)(c - '0');
                else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
                        v = v << 4 | (unsigned)((c | 0x20) - 'a' + 10);
                else
                        return false;
        }
        *ret = v;
        return true;
}

/* "0x" and n_digits lower-case hex digits, as the vendor, device and class attributes say it. */
static void format_id(char *out, unsigned v, size_t n_digits)
{
        out[0] = '0';
        out[1] = 'x';
        for (size_t i = 0; i < n_digits; i++)
                out[2 + i] = "0123456789abcdef"[(v >> (4 * (n_digits - 1 - i))) & 0xf];
        out[2 + n_digits] = 0;
}

int sysfs_parse_pci_uevent(const char *text, size_t len, sysfs_device *d)
{
        enum { DRIVER, CLASS, ID, SLOT, N_KEYS };
        static const struct {
                const char *name;
                size_t len;
        } keys[N_KEYS] = {
                [DRIVER] = { "DRIVER", 6 },
                [CLASS] = { "PCI_CLASS", 9 },
                [ID] = { "PCI_ID", 6 },
                [SLOT] = { "PCI_SLOT_NAME", 13 },
        };
        const char *values[N_KEYS] = {};
        size_t lens[N_KEYS] = {};
        unsigned vendor, device, class;

        /* Printable ASCII and newlines, looked up: a scan parses one of these per device. */
        static const unsigned char allowed[256] = { ['\n'] = 1, [' ' ... '~'] = 1 };
        unsigned char all = 1;

        /* dev_uevent() and pci_uevent() end every variable with a newline. */
        if (len == 0 || len > SYSFS_ATTR_MAX || text[len - 1] != '\n')
                return -EBADMSG;
        for (size_t i = 0; i < len; i++)
                all &= allowed[(unsigned char)text[i]];
        if (!all)
                return -EBADMSG;
        for (const char *line = text, *end = text + len; line < end;) {
                const char *p = memchr(line, '\n', (size_t)(end - line));
                const char *eq = memchr(line, '=', (size_t)(p - line));
                size_t key_len;

                if (!eq || eq == line)
                        return -EBADMSG;
                key_len = (size_t)(eq - line);
                for (size_t k = 0; k < N_KEYS; k++)
                        if (keys[k].len == key_len && memcmp(line, keys[k].name, key_len) == 0) {
                                if (values[k])
                                        return -EBADMSG;
                                values[k] = eq + 1;
                                lens[k] = (size_t)(p - eq - 1);
                                break;
                        }
                line = p + 1;
        }
        /* pci_uevent() prints the class with %04X: four to six digits of a 24-bit value. */
        if (!values[CLASS] || lens[CLASS] < 4 || lens[CLASS] > 6 ||
            !parse_hex(values[CLASS], lens[CLASS], &class) || !values[ID] || lens[ID] != 9 ||
            values[ID][4] != ':' || !parse_hex(values[ID], 4, &vendor) ||
            !parse_hex(values[ID] + 5, 4, &device) || !values[SLOT] ||
            lens[SLOT] != PCI_ADDRESS_LEN || memcmp(values[SLOT], d->address, PCI_ADDRESS_LEN) != 0)
                return -EBADMSG;
        format_id(d->vendor, vendor, 4);
        format_id(d->device, device, 4);
        format_id(d->class, class, 6);
        d->driver[0] = 0;
        d->driver_unknown = false;
        if (values[DRIVER]) {
                /* Bound to something we cannot name: never "no driver". */
                d->driver_unknown = lens[DRIVER] == 0 || lens[DRIVER] > SYSFS_NAME_MAX;
                if (!d->driver_unknown) {
                        memcpy(d->driver, values[DRIVER], lens[DRIVER]);
                        d->driver[lens[DRIVER]] = 0;
                        d->driver_unknown = !sysfs_name_valid(d->driver);
                }
                if (d->driver_unknown)
                        d->driver[0] = 0;
        }
        return 0;
}

const char *sysfs_escape(const char *s, char buf[static 48])
{
        size_t i = 0;

        for (; s[i] && i < 44; i++)
                buf[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
        strcpy(buf + i, s[i] ? "..." : "");
        return buf;
}

/* ---- Access ---- */

static bool openat2_missing;

void sysfs_set_openat2(bool enabled)
{
        openat2_missing = !enabled;
}

/* Where openat2() is missing (kernels before 5.6, memory checkers, seccomp filters that
 * answer ENOSYS): one component at a time with O_NOFOLLOW, refusing "." and "..". For the paths
 * this file builds, that gives what RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS gives. */
static int open_walk(int dir_fd, const char *path, int flags, int *ret_fd)
{
        _cleanup_close_ int cur = -EBADF;
        char name[NAME_MAX + 1];

        if (path[0] == '/')
                return -EXDEV;
        for (const char *p = path;;) {
                size_t n = strcspn(p, "/");
                bool last = !p[n] || !p[n + strspn(p + n, "/")];
                int at = cur >= 0 ? cur : dir_fd, fd;

                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, n ? p : ".", n ? n : 1);
                name[n ? n : 1] = 0;
                /* "." alone is dir_fd itself, as openat2() takes it; anywhere else, refused. */
                if (n > 0 && ((streq(name, ".") && !(p == path && last)) || streq(name, "..")))
                        return -EXDEV;
                fd = openat(at, name,
                            last ? flags | O_NOFOLLOW | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY)
                                 : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        struct stat st;
                        int r = negative_errno();

                        /* O_NOFOLLOW with O_PATH|O_DIRECTORY says ENOTDIR for a symlink. */
                        if (r == -ENOTDIR && fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                            S_ISLNK(st.st_mode))
                                r = -ELOOP;
                        return r;
                }
                safe_close(cur);
                cur = fd;
                if (last)
                        break;
                p += n;
                p += strspn(p, "/");
        }
        *ret_fd = TAKE_FD(cur);
        return 0;
}

int sysfs_open(int dir_fd, const char *path, int flags, int *ret_fd)
{
        /* No symlinks at all: links are read and resolved as text (sysfs_link_resolve()), so
         * each path opened here is a real one and stays below the root by construction. */
        struct open_how how = {
                /* openat2() refuses O_PATH with any flag it would ignore. */
                .flags = (uint64_t)(flags | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY)),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
        };

        for (int i = 0; !openat2_missing; i++) {
                long fd = syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));

                if (fd >= 0) {
                        *ret_fd = (int)fd;
                        return 0;
                }
                if (errno == ENOSYS) {
                        log_debug("openat2() is not available; walking paths one name at a time.");
                        openat2_missing = true;
                        break;
                }
                /* EAGAIN: a concurrent rename anywhere on the system; the kernel asks to retry. */
                if (errno != EAGAIN || i >= 8)
                        return negative_errno();
        }
        return open_walk(dir_fd, path, flags, ret_fd);
}

int sysfs_read_raw(int dir_fd, const char *path, char *buf, size_t size)
{
        _cleanup_close_ int fd = -EBADF;
        size_t max = MIN(size, (size_t)SYSFS_ATTR_MAX);
        ssize_t n;
        int r;

        r = sysfs_open(dir_fd, path, O_RDONLY, &fd);
        if (r < 0)
                return r;
        /* One read: sysfs hands an attribute out whole, and a short read of a regular file is
         * its end. Only a full buffer needs a look for more. */
        do
                n = read(fd, buf, max);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        if ((size_t)n == max) {
                char extra;
                ssize_t k;

                do
                        k = read(fd, &extra, 1);
                while (k < 0 && errno == EINTR);
                if (k != 0)
                        return k < 0 ? negative_errno() : -EFBIG;
        }
        return (int)n;
}

int sysfs_read_attr(int dir_fd, const char *path, char *buf, size_t size)
{
        int r;

        if (size < 2)
                return -EINVAL;
        r = sysfs_read_raw(dir_fd, path, buf, size - 1);
        if (r < 0)
                return r;
        return sysfs_attr_clean(buf, (size_t)r);
}

int sysfs_write_attr(int dir_fd, const char *path, const char *value)
{
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(value);
        ssize_t n;
        int r;

        r = sysfs_open(dir_fd, path, O_WRONLY, &fd);
        if (r < 0)
                return r;
        do
                n = write(fd, value, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        return (size_t)n == len ? 0 : -EIO;
}
