/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pci-address.h"

static int hex_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

bool pci_address_valid(const char *s, size_t len)
{
        static const char shape[] = "xxxx:xx:xx.o";

        if (!s || len != PCI_ADDRESS_LEN)
                return false;
        for (size_t i = 0; i < len; i++)
                switch (shape[i]) {
                case 'x':
                        if (hex_value(s[i]) < 0)
                                return false;
                        break;
                case 'o':
                        if (s[i] < '0' || s[i] > '7')
                                return false;
                        break;
                default:
                        if (s[i] != shape[i])
                                return false;
                }
        return true;
}

uint64_t pci_address_pack(const char *s)
{
        uint64_t v = 0;

        /* Fixed-width lower-case hex: packing the digits in order keeps the string order. */
        for (size_t i = 0; i < PCI_ADDRESS_LEN; i++) {
                int h = hex_value(s[i]);

                if (h >= 0)
                        v = v << 4 | (uint64_t)h;
        }
        return v;
}
