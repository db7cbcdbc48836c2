/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pci-address.h"

/* Each lower-case hex digit's value plus one, 0 for any other character: a scan checks and packs
 * each of tens of thousands of addresses several times, one table lookup per character. */
static const unsigned char digits[256] = {
        ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
        ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
        ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static bool digit(const char *s, size_t i)
{
        return digits[(unsigned char)s[i]] != 0;
}

static uint64_t value(const char *s, size_t i)
{
        return (uint64_t)digits[(unsigned char)s[i]] - 1;
}

bool pci_address_valid(const char *s, size_t len)
{
        /* "xxxx:xx:xx.o": hex digits around ':', ':' and '.'; the function is 0-7. */
        return s && len == PCI_ADDRESS_LEN && s[4] == ':' && s[7] == ':' && s[10] == '.' &&
               s[11] >= '0' && s[11] <= '7' && digit(s, 0) && digit(s, 1) && digit(s, 2) &&
               digit(s, 3) && digit(s, 5) && digit(s, 6) && digit(s, 8) && digit(s, 9);
}

uint64_t pci_address_pack(const char *s)
{
        /* Fixed-width lower-case hex: packing the digits in order keeps the string order. */
        return value(s, 0) << 32 | value(s, 1) << 28 | value(s, 2) << 24 | value(s, 3) << 20 |
               value(s, 5) << 16 | value(s, 6) << 12 | value(s, 8) << 8 | value(s, 9) << 4 |
               value(s, 11);
}

void pci_address_unpack(uint64_t v, char ret[static PCI_ADDRESS_SIZE])
{
        static const char hex[] = "0123456789abcdef";
        static const unsigned char at[9] = { 0, 1, 2, 3, 5, 6, 8, 9, 11 };

        for (size_t i = 0; i < 9; i++)
                ret[at[i]] = hex[(v >> (4 * (8 - i))) & 0xf];
        ret[4] = ret[7] = ':';
        ret[10] = '.';
        ret[PCI_ADDRESS_LEN] = 0;
}
