/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How much locked memory a command needs. QEMU maps all guest RAM into the IOMMU for a
 * vfio-pci device, which pins it and charges it to QEMU's RLIMIT_MEMLOCK, together with its
 * ROMs and other small regions: 64 MiB of RAM needed 65,792 KiB locked. */

#include <stdint.h>

/* Room for ROMs and the like above guest RAM. */
#define LOCKED_MEMORY_MARGIN (UINT64_C(64) << 20)
/* QEMU's guest RAM when -m is not given. */
#define QEMU_DEFAULT_RAM (UINT64_C(128) << 20)

/* "67108864", "64K", "64M", "4G", "1T" (binary units; "MiB"/"MB" not taken): bytes. 0 or
 * -EINVAL; -ERANGE past 2^62. default_shift applies when there is no unit (QEMU's -m counts
 * MiB: 20). */
int locked_memory_parse(const char *s, unsigned default_shift, uint64_t *ret);

/* What a QEMU command needs locked: its guest RAM (-m SIZE, -m size=SIZE,..., or QEMU's
 * default) plus LOCKED_MEMORY_MARGIN. -ENOENT when argv[0] is not a qemu-system-*; -EINVAL
 * for a -m it cannot read. */
int locked_memory_for_qemu(char *const *argv, uint64_t *ret);
