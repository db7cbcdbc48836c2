/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ioasid-run's placeholders: what is replaced, what is left alone, and what is refused. */
#include <errno.h>
#include <stdlib.h>

#include "placeholder.h"
#include "tests.h"

static const run_grant grants[] = {
        { .address = "0000:00:03.1", .device_fd = 5, .group_fd = -1 },
        { .address = "0000:00:03.0", .device_fd = 6, .group_fd = 7, .path = "/dev/vfio/2" },
};
static const run_facts facts = { .iommufd = 4, .grants = grants, .n_grants = 2 };

static void expect(const char *in, const char *out)
{
        char *s = NULL;

        ASSERT_OK(placeholder_expand(in, &facts, &s, NULL));
        ASSERT_STREQ(s, out);
        free(s);
}

static void expect_error(const char *in, int error, const char *bad)
{
        const char *at = NULL;
        char *s = NULL;

        ASSERT_ERROR(placeholder_expand(in, &facts, &s, &at), error);
        ASSERT_TRUE(s == NULL);
        ASSERT_STREQ(at, bad);
}

int main(void)
{
        expect("", "");
        expect("plain", "plain");
        expect("{iommufd}", "4");
        expect("iommufd,id=i0,fd={iommufd}", "iommufd,id=i0,fd=4");
        expect("vfio-pci,iommufd=i0,fd={device:0000:00:03.1},x={device:0000:00:03.0}",
               "vfio-pci,iommufd=i0,fd=5,x=6");
        expect("{group:0000:00:03.0}{path:0000:00:03.0}", "7/dev/vfio/2");
        /* Not ours: a VMM's JSON, unknown names, unterminated or empty placeholders. */
        expect("{\"driver\":\"vfio-pci\",\"fd\":\"{iommufd}\"}",
               "{\"driver\":\"vfio-pci\",\"fd\":\"4\"}");
        expect("{iommu}{device}{foo:bar}{device:}{path:x",
               "{iommu}{device}{foo:bar}{device:}{path:x");
        expect("{{iommufd}}", "{4}");

        expect_error("fd={device:0000:00:09.0}", ENOENT, "{device:0000:00:09.0}");
        expect_error("{device:0000:00:03.10}", ENOENT, "{device:0000:00:03.10}");
        expect_error("{group:0000:00:03.1}", ENODATA, "{group:0000:00:03.1}");
        expect_error("{path:0000:00:03.1}", ENODATA, "{path:0000:00:03.1}");

        ASSERT_EQ(placeholder_kinds("nothing {here}"), 0);
        ASSERT_EQ(placeholder_kinds("{iommufd},{device:a}"),
                  PLACEHOLDER_IOMMUFD | PLACEHOLDER_DEVICE);
        ASSERT_EQ(placeholder_kinds("host={path:0000:00:03.0}"), PLACEHOLDER_PATH);
        ASSERT_EQ(placeholder_kinds("{group:x}{path:}"), PLACEHOLDER_GROUP);
        return 0;
}
