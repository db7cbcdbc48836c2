/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* PCI addresses in the kernel's sysfs form, "DDDD:BB:DD.F" (lower-case hex, function 0-7): the
 * key of every device in the daemon, since IOMMU group numbers change across reboots. Domains
 * wider than 16 bits (VMD) are not supported: the kernel names them with more digits. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCI_ADDRESS_LEN  12u
#define PCI_ADDRESS_SIZE (PCI_ADDRESS_LEN + 1)

bool pci_address_valid(const char *s, size_t len);

static inline bool pci_address_valid_str(const char *s)
{
        return s && pci_address_valid(s, __builtin_strlen(s));
}

/* A valid address as one integer whose order is the address's sort order (36 bits), and back. */
uint64_t pci_address_pack(const char *s);
void pci_address_unpack(uint64_t v, char ret[static PCI_ADDRESS_SIZE]);
