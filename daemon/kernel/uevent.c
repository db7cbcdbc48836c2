/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "uevent.h"

static const struct {
        const char *name;
        uevent_action action;
} actions[] = {
        { "add", UEVENT_ADD },       { "remove", UEVENT_REMOVE }, { "bind", UEVENT_BIND },
        { "unbind", UEVENT_UNBIND }, { "change", UEVENT_CHANGE }, { "move", UEVENT_OTHER },
        { "online", UEVENT_OTHER },  { "offline", UEVENT_OTHER },
};

static bool is_hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int uevent_address_valid(const char *s, size_t len)
{
        /* DDDD:BB:DD.F: 4 hex, ':', 2 hex, ':', 2 hex, '.', one octal digit. */
        static const char shape[] = "xxxx:xx:xx.o";

        if (len != sizeof(shape) - 1)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (shape[i] == 'x' && !is_hex(s[i]))
                        return false;
                if (shape[i] == 'o' && !(s[i] >= '0' && s[i] <= '7'))
                        return false;
                if (shape[i] != 'x' && shape[i] != 'o' && s[i] != shape[i])
                        return false;
        }
        return true;
}

/* The PCI device a vfio-dev node belongs to: DEVPATH ends in ".../ADDR/vfio-dev/vfioN". */
static const char *devpath_pci_parent(const char *devpath, char *buf, size_t size)
{
        const char *v = strstr(devpath, "/vfio-dev/");
        const char *start;

        if (!v || size < 13)
                return NULL;
        start = v;
        while (start > devpath && start[-1] != '/')
                start--;
        if (!uevent_address_valid(start, (size_t)(v - start)))
                return NULL;
        memcpy(buf, start, 12);
        buf[12] = 0;
        return buf;
}

int uevent_parse(const char *buf, size_t len, uevent *ret)
{
        const char *p = buf, *end = buf + len, *at, *action = NULL;
        uevent u = { .action = UEVENT_OTHER };
        const char *slot = NULL;
        bool from_parent = false;

        if (len == 0 || len > UEVENT_SIZE_MAX || buf[len - 1] != 0)
                return -EBADMSG;
        /* The header, "ACTION@DEVPATH", carries nothing the keys do not. */
        at = memchr(p, '@', strlen(p));
        if (!at)
                return -EBADMSG;
        p += strlen(p) + 1;

        for (; p < end; p += strlen(p) + 1) {
                const char *eq = strchr(p, '=');

                if (!eq)
                        continue;
                if (strncmp(p, "ACTION=", 7) == 0)
                        action = eq + 1;
                else if (strncmp(p, "DEVPATH=", 8) == 0)
                        u.devpath = eq + 1;
                else if (strncmp(p, "SUBSYSTEM=", 10) == 0)
                        u.subsystem = eq + 1;
                else if (strncmp(p, "DRIVER=", 7) == 0)
                        u.driver = eq + 1;
                else if (strncmp(p, "PCI_SLOT_NAME=", 14) == 0)
                        slot = eq + 1;
        }
        if (!action || !u.devpath || !u.subsystem || u.devpath[0] != '/')
                return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                if (streq(action, actions[i].name))
                        u.action = actions[i].action;

        if (streq(u.subsystem, "pci") && slot && uevent_address_valid(slot, strlen(slot)))
                u.address = slot;
        else if (streq(u.subsystem, "vfio-dev"))
                from_parent = devpath_pci_parent(u.devpath, u.parent, sizeof(u.parent)) != NULL;
        if (u.driver && (!u.driver[0] || strchr(u.driver, '/')))
                u.driver = NULL;
        *ret = u;
        /* Only now does the address have its final home. */
        if (from_parent)
                ret->address = ret->parent;
        return 0;
}
