/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ioasid-run's locked-memory arithmetic: sizes, and what a QEMU command line needs. */
#include <errno.h>
#include <stdint.h>

#include "locked-memory.h"
#include "tests.h"

#define MiB (UINT64_C(1) << 20)

static uint64_t parse(const char *s, unsigned shift)
{
        uint64_t v = 0;

        ASSERT_OK(locked_memory_parse(s, shift, &v));
        return v;
}

static uint64_t need(char *const *argv)
{
        uint64_t v = 0;

        ASSERT_OK(locked_memory_for_qemu(argv, &v));
        return v;
}

int main(void)
{
        uint64_t v;

        ASSERT_EQ(parse("67108864", 0), 64 * MiB);
        ASSERT_EQ(parse("64K", 0), UINT64_C(64) << 10);
        ASSERT_EQ(parse("64m", 0), 64 * MiB);
        ASSERT_EQ(parse("64", 20), 64 * MiB);
        ASSERT_EQ(parse("2G", 20), UINT64_C(2) << 30);
        ASSERT_EQ(parse("1T", 0), UINT64_C(1) << 40);
        ASSERT_ERROR(locked_memory_parse("", 0, &v), EINVAL);
        ASSERT_ERROR(locked_memory_parse("M", 0, &v), EINVAL);
        ASSERT_ERROR(locked_memory_parse("64MiB", 0, &v), EINVAL);
        ASSERT_ERROR(locked_memory_parse("-1", 0, &v), EINVAL);
        ASSERT_ERROR(locked_memory_parse("1.5G", 0, &v), EINVAL);
        ASSERT_ERROR(locked_memory_parse("99999999999999999999", 0, &v), ERANGE);
        ASSERT_ERROR(locked_memory_parse("4194305T", 0, &v), ERANGE);

        ASSERT_EQ(need((char *[]){ "qemu-system-x86_64", "-m", "64", NULL }),
                  64 * MiB + LOCKED_MEMORY_MARGIN);
        ASSERT_EQ(need((char *[]){ "/usr/bin/qemu-system-aarch64", "-S", "-m", "1G", NULL }),
                  1024 * MiB + LOCKED_MEMORY_MARGIN);
        ASSERT_EQ(
                need((char *[]){ "qemu-system-x86_64", "-m", "size=512M,slots=2,maxmem=4G", NULL }),
                512 * MiB + LOCKED_MEMORY_MARGIN);
        ASSERT_EQ(need((char *[]){ "qemu-system-x86_64", "-m=256", "-m", "96", NULL }),
                  96 * MiB + LOCKED_MEMORY_MARGIN);
        ASSERT_EQ(need((char *[]){ "qemu-system-x86_64", "-nodefaults", NULL }),
                  QEMU_DEFAULT_RAM + LOCKED_MEMORY_MARGIN);
        ASSERT_ERROR(locked_memory_for_qemu((char *[]){ "cloud-hypervisor", "-m", "64", NULL }, &v),
                     ENOENT);
        ASSERT_ERROR(locked_memory_for_qemu((char *[]){ "qemu-system-x86_64", "-m", NULL }, &v),
                     EINVAL);
        ASSERT_ERROR(
                locked_memory_for_qemu((char *[]){ "qemu-system-x86_64", "-m", "lots", NULL }, &v),
                EINVAL);
        ASSERT_ERROR(locked_memory_for_qemu(
                             (char *[]){ "qemu-system-x86_64", "-m", "slots=2,size=1G", NULL }, &v),
                     EINVAL);
        return 0;
}
