/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "macro.h"
#include "tests.h"
#include "viability.h"

#define M(addr, drv)                                                                               \
        {                                                                                          \
                .address = (addr), .driver = (drv)                                                 \
        }

static viability check(const char *type, const viability_member *m, size_t n)
{
        viability v;

        ASSERT_OK(viability_check(
                NULL, &(viability_group){ .number = 7, .type = type, .members = m, .n_members = n },
                &v));
        ASSERT_EQ(v.viable, v.n_reasons == 0);
        return v;
}

static void assert_viable_alone(const char *driver)
{
        viability_member m[] = { M("0000:00:03.1", driver) };
        _cleanup_(viability_done) viability v = check("DMA", m, 1);

        ASSERT_TRUE(v.viable);
        ASSERT_EQ(v.n_reasons, 0);
        ASSERT_EQ(v.n_notes, 0);
}

TEST(allowed_states)
{
        assert_viable_alone(NULL);
        assert_viable_alone("vfio-pci");
        assert_viable_alone("mlx5_vfio_pci");
        assert_viable_alone("hisi_acc_vfio_pci");
        assert_viable_alone("some-vfio-pci");
        assert_viable_alone("pci-stub");
        assert_viable_alone("pcieport");
}

TEST(classify)
{
        ASSERT_EQ(viability_classify(NULL, NULL), VIABILITY_DRIVER_NONE);
        ASSERT_EQ(viability_classify(NULL, "vfio-pci"), VIABILITY_DRIVER_VFIO);
        ASSERT_EQ(viability_classify(NULL, "nvgrace_gpu_vfio_pci"), VIABILITY_DRIVER_VFIO);
        /* A suffix alone, or one that only looks alike, is not a vfio driver. */
        ASSERT_EQ(viability_classify(NULL, "_vfio_pci"), VIABILITY_DRIVER_HOST);
        ASSERT_EQ(viability_classify(NULL, "vfio_pci_core"), VIABILITY_DRIVER_HOST);
        ASSERT_EQ(viability_classify(NULL, "vfio"), VIABILITY_DRIVER_HOST);
        ASSERT_EQ(viability_classify(NULL, "pci-stub"), VIABILITY_DRIVER_STUB);
        ASSERT_EQ(viability_classify(NULL, "pcieport"), VIABILITY_DRIVER_BRIDGE);
        /* shpchp does not declare driver_managed_dma: it keeps the kernel's DMA domain. */
        ASSERT_EQ(viability_classify(NULL, "shpchp"), VIABILITY_DRIVER_HOST);
        ASSERT_EQ(viability_classify(NULL, "e1000e"), VIABILITY_DRIVER_HOST);
        ASSERT_EQ(viability_classify(NULL, "uio_pci_generic"), VIABILITY_DRIVER_HOST);
}

/* The seed's scenario 3 on a real kernel: a PCIe-to-PCI bridge that shpchp took blocks the
 * group, and the only fix is to unbind it. */
TEST(bridge_on_shpchp)
{
        viability_member m[] = {
                { .address = "0000:00:04.0", .driver = "shpchp", .bridge = true },
                M("0000:01:01.0", "vfio-pci"),
        };
        _cleanup_(viability_done) viability v = check("DMA", m, 2);

        ASSERT_FALSE(v.viable);
        ASSERT_EQ(v.n_reasons, 1);
        ASSERT_STREQ(v.reasons[0], "0000:00:04.0 is a bridge bound to shpchp, which keeps the "
                                   "kernel's DMA domain; unbind it");
}

TEST(host_driver)
{
        viability_member m[] = { M("0000:00:03.0", "virtio-pci") };
        _cleanup_(viability_done) viability v = check("DMA", m, 1);

        ASSERT_FALSE(v.viable);
        ASSERT_EQ(v.n_reasons, 1);
        ASSERT_STREQ(v.reasons[0],
                     "0000:00:03.0 is bound to virtio-pci; bind it to vfio-pci or unbind it");
}

TEST(mixed)
{
        /* The thread's scenario 3: the bridge and two conventional devices behind it. */
        viability_member m[] = {
                M("0000:00:04.0", "pcieport"), M("0000:01:01.0", "vfio-pci"),
                M("0000:01:02.0", "e1000"),    M("0000:01:03.0", NULL),
                M("0000:01:04.0", "pci-stub"), M("0000:01:05.0", "ahci"),
        };
        _cleanup_(viability_done) viability v = check("DMA-FQ", m, ELEMENTSOF(m));

        ASSERT_FALSE(v.viable);
        ASSERT_EQ(v.n_reasons, 2);
        ASSERT_STREQ(v.reasons[0],
                     "0000:01:02.0 is bound to e1000; bind it to vfio-pci or unbind it");
        ASSERT_STREQ(v.reasons[1],
                     "0000:01:05.0 is bound to ahci; bind it to vfio-pci or unbind it");
        ASSERT_EQ(v.n_notes, 0);
}

TEST(identity_note)
{
        viability_member m[] = { M("0000:00:03.0", NULL), M("0000:00:03.1", "vfio-pci") };
        _cleanup_(viability_done) viability v = check("identity", m, 2);

        /* Claiming the group blocks the driver-less function: viable, with a note. */
        ASSERT_TRUE(v.viable);
        ASSERT_EQ(v.n_notes, 1);
        ASSERT_STREQ(v.notes[0], "0000:00:03.0 has no driver and is not isolated: the group's "
                                 "default domain is identity, so its DMA is untranslated until "
                                 "the group is claimed");
}

TEST(identity_bound)
{
        viability_member m[] = { M("0000:00:03.0", "vfio-pci") };
        _cleanup_(viability_done) viability v = check("identity", m, 1);

        ASSERT_TRUE(v.viable);
        ASSERT_EQ(v.n_notes, 0);
}

TEST(missing_unknown_foreign_empty)
{
        viability_member m[] = {
                { .address = "0000:00:03.0", .missing = true },
                { .address = "0000:00:03.1", .driver_unknown = true },
        };
        viability v;

        ASSERT_OK(viability_check(
                NULL,
                &(viability_group){ .number = 2, .members = m, .n_members = 2, .n_foreign = 1 },
                &v));
        ASSERT_FALSE(v.viable);
        ASSERT_EQ(v.n_reasons, 3);
        ASSERT_STREQ(v.reasons[0], "0000:00:03.0 is in the group but its device could not be read");
        ASSERT_STREQ(v.reasons[1],
                     "0000:00:03.1 is bound to a driver that cannot be identified; unbind it");
        ASSERT_STREQ(v.reasons[2], "group 2 has a member that is not a PCI device; its isolation "
                                   "cannot be checked");
        viability_done(&v);

        ASSERT_OK(viability_check(
                NULL, &(viability_group){ .number = 2, .type = "DMA", .n_foreign = 3 }, &v));
        ASSERT_EQ(v.n_reasons, 1);
        ASSERT_STREQ(v.reasons[0], "group 2 has 3 members that are not PCI devices; their "
                                   "isolation cannot be checked");
        viability_done(&v);

        ASSERT_OK(viability_check(NULL, &(viability_group){ .number = 9, .type = "DMA" }, &v));
        ASSERT_FALSE(v.viable);
        ASSERT_EQ(v.n_reasons, 1);
        ASSERT_STREQ(v.reasons[0], "group 9 has no devices");
        viability_done(&v);

        /* Members we know are fine, but the list itself could not be read. */
        ASSERT_OK(viability_check(
                NULL,
                &(viability_group){
                        .number = 4, .members = m + 1, .n_members = 0, .unreadable = true },
                &v));
        ASSERT_FALSE(v.viable);
        ASSERT_EQ(v.n_reasons, 1);
        ASSERT_STREQ(v.reasons[0], "the member list of group 4 could not be read");
        viability_done(&v);
}

TEST(config)
{
        static const char *const vfio[] = { "my-vfio", NULL };
        static const char *const stubs[] = { "virtio-pci", NULL };
        const viability_config cfg = { .vfio_drivers = vfio, .stub_drivers = stubs };
        viability_member m[] = { M("0000:00:03.0", "virtio-pci"), M("0000:00:03.1", "vfio-pci"),
                                 M("0000:00:03.2", "pcieport") };
        viability v;

        /* Only what the configuration lists is allowed: no suffix rule, no bridges. */
        ASSERT_OK(viability_check(
                &cfg,
                &(viability_group){ .number = 2, .type = "DMA", .members = m, .n_members = 3 },
                &v));
        ASSERT_FALSE(v.viable);
        ASSERT_EQ(v.n_reasons, 2);
        ASSERT_STREQ(v.reasons[0],
                     "0000:00:03.1 is bound to vfio-pci; bind it to my-vfio or unbind it");
        ASSERT_STREQ(v.reasons[1],
                     "0000:00:03.2 is bound to pcieport; bind it to my-vfio or unbind it");
        viability_done(&v);
}

TEST(equal)
{
        viability_member a[] = { M("0000:00:03.0", "e1000") }, b[] = { M("0000:00:03.0", "igb") };
        _cleanup_(viability_done) viability va = check("DMA", a, 1);
        _cleanup_(viability_done) viability va2 = check("DMA", a, 1);
        _cleanup_(viability_done) viability vb = check("DMA", b, 1);

        ASSERT_TRUE(viability_equal(&va, &va2));
        /* Same verdict, different reason: still a change worth reporting. */
        ASSERT_FALSE(viability_equal(&va, &vb));
}

int main(void)
{
        RUN(allowed_states);
        RUN(classify);
        RUN(host_driver);
        RUN(bridge_on_shpchp);
        RUN(mixed);
        RUN(identity_note);
        RUN(identity_bound);
        RUN(missing_unknown_foreign_empty);
        RUN(config);
        RUN(equal);
        return 0;
}
