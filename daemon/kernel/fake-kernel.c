/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake-kernel.h"
#include "log.h"
#include "macro.h"
#include "pci-address.h"
#include "sysfs.h"

static int run(const char *command, const char *action, const char *address, const char *driver)
{
        int status;
        pid_t pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                execl(command, command, action, address, driver, (char *)NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                log_warning("fake kernel: \"%s %s %s\" failed.", action, address, driver ?: "");
                return -EIO;
        }
        return 0;
}

/* A sysfs attribute takes the whole value with each write; a file keeps what a shorter write
 * did not cover: truncate, as the attribute would. Opened as the kernel writer opens it (no
 * symlink anywhere on the path), so a path through a link fails here as it would there. */
static int write_file(int root_fd, const char *path, const char *value)
{
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(value);
        int r;

        r = sysfs_open(root_fd, path, O_WRONLY | O_TRUNC, &fd);
        if (r < 0)
                return r;
        if (write(fd, value, len) != (ssize_t)len)
                return -EIO;
        return 0;
}

static const char *after(const char *s, const char *prefix)
{
        size_t n = strlen(prefix);

        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

int fake_kernel_write(int root_fd, const char *path, const char *value, void *userdata)
{
        char address[PCI_ADDRESS_SIZE], driver[SYSFS_NAME_MAX + 1];
        size_t len = strcspn(value, "\n");
        const char *rest = after(path, "bus/pci/drivers/"), *slash;

        if (streq(path, "bus/pci/drivers_probe") || rest) {
                if (len != PCI_ADDRESS_LEN || !pci_address_valid(value, len))
                        return -EINVAL;
                memcpy(address, value, len);
                address[len] = 0;
                if (streq(path, "bus/pci/drivers_probe"))
                        return run(userdata, "probe", address, NULL);
                slash = strchr(rest, '/');
                if (!slash || (size_t)(slash - rest) > SYSFS_NAME_MAX)
                        return -EINVAL;
                memcpy(driver, rest, (size_t)(slash - rest));
                driver[slash - rest] = 0;
                if (!sysfs_name_valid(driver))
                        return -EINVAL;
                if (streq(slash, "/unbind"))
                        return run(userdata, "unbind", address, NULL);
                if (streq(slash, "/bind"))
                        return run(userdata, "bind", address, driver);
                return -EINVAL;
        }
        return write_file(root_fd, path, value);
}
