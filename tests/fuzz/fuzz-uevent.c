/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uevent u;
        char *copy;

        if (size > UEVENT_SIZE_MAX + 1)
                return 0;
        /* An exact-size copy, so reading one byte past the message is caught. */
        copy = malloc(size ?: 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        if (uevent_parse(copy, size, &u) == 0) {
                /* Everything it returns must be a NUL-terminated string inside the message. */
                volatile size_t n = strlen(u.devpath) + strlen(u.subsystem);
                if (u.driver)
                        n += strlen(u.driver);
                if (u.address && !uevent_address_valid(u.address, strlen(u.address)))
                        abort();
                (void)n;
        }
        free(copy);
        return 0;
}
