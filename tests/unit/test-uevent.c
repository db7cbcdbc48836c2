/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "tests.h"
#include "uevent.h"

#define MSG(s) s, sizeof(s)

TEST(bind)
{
        uevent u;

        ASSERT_OK(uevent_parse(MSG("bind@/devices/pci0000:00/0000:00:03.1\0"
                                   "ACTION=bind\0DEVPATH=/devices/pci0000:00/0000:00:03.1\0"
                                   "SUBSYSTEM=pci\0DRIVER=vfio-pci\0PCI_CLASS=20000\0"
                                   "PCI_ID=1AF4:1000\0PCI_SLOT_NAME=0000:00:03.1\0SEQNUM=1234"),
                               &u));
        ASSERT_EQ(u.action, UEVENT_BIND);
        ASSERT_STREQ(u.subsystem, "pci");
        ASSERT_STREQ(u.driver, "vfio-pci");
        ASSERT_STREQ(u.address, "0000:00:03.1");
        ASSERT_STREQ(u.devpath, "/devices/pci0000:00/0000:00:03.1");
}

TEST(unbind_and_remove)
{
        uevent u;

        ASSERT_OK(uevent_parse(MSG("unbind@/devices/pci0000:00/0000:00:04.0/0000:01:01.0\0"
                                   "ACTION=unbind\0DEVPATH=/devices/pci0000:00/0000:00:04.0/"
                                   "0000:01:01.0\0SUBSYSTEM=pci\0PCI_SLOT_NAME=0000:01:01.0"),
                               &u));
        ASSERT_EQ(u.action, UEVENT_UNBIND);
        ASSERT_TRUE(u.driver == NULL);
        ASSERT_STREQ(u.address, "0000:01:01.0");
        ASSERT_OK(uevent_parse(MSG("remove@/devices/pci0000:00/0000:00:15.2\0ACTION=remove\0"
                                   "DEVPATH=/devices/pci0000:00/0000:00:15.2\0SUBSYSTEM=pci\0"
                                   "PCI_SLOT_NAME=0000:00:15.2"),
                               &u));
        ASSERT_EQ(u.action, UEVENT_REMOVE);
}

TEST(vfio_dev_names_its_pci_parent)
{
        uevent u;

        ASSERT_OK(uevent_parse(MSG("add@/devices/pci0000:00/0000:00:03.1/vfio-dev/vfio0\0"
                                   "ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:03.1/vfio-dev/"
                                   "vfio0\0SUBSYSTEM=vfio-dev\0MAJOR=511\0MINOR=0\0DEVNAME=vfio/"
                                   "devices/vfio0"),
                               &u));
        ASSERT_EQ(u.action, UEVENT_ADD);
        ASSERT_STREQ(u.address, "0000:00:03.1");
}

TEST(other_subsystems_have_no_address)
{
        uevent u;

        ASSERT_OK(uevent_parse(MSG("add@/devices/virtual/net/lo\0ACTION=add\0DEVPATH=/devices/"
                                   "virtual/net/lo\0SUBSYSTEM=net\0INTERFACE=lo"),
                               &u));
        ASSERT_TRUE(u.address == NULL);
        /* A pci event whose slot name is not an address is not trusted as one. */
        ASSERT_OK(uevent_parse(MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"
                                   "PCI_SLOT_NAME=../../etc"),
                               &u));
        ASSERT_TRUE(u.address == NULL);
        ASSERT_OK(uevent_parse(MSG("bind@/devices/x\0ACTION=bind\0DEVPATH=/devices/x\0"
                                   "SUBSYSTEM=pci\0DRIVER=../x"),
                               &u));
        ASSERT_TRUE(u.driver == NULL);
}

TEST(malformed)
{
        uevent u;

        ASSERT_ERROR(uevent_parse("", 0, &u), EBADMSG);
        ASSERT_ERROR(uevent_parse("no-at-sign", 11, &u), EBADMSG);
        /* Not NUL-terminated. */
        ASSERT_ERROR(uevent_parse("add@/x\0ACTION=add", 17, &u), EBADMSG);
        /* Missing ACTION, DEVPATH or SUBSYSTEM. */
        ASSERT_ERROR(uevent_parse(MSG("add@/x\0DEVPATH=/x\0SUBSYSTEM=pci"), &u), EBADMSG);
        ASSERT_ERROR(uevent_parse(MSG("add@/x\0ACTION=add\0SUBSYSTEM=pci"), &u), EBADMSG);
        ASSERT_ERROR(uevent_parse(MSG("add@/x\0ACTION=add\0DEVPATH=/x"), &u), EBADMSG);
        ASSERT_ERROR(uevent_parse(MSG("add@/x\0ACTION=add\0DEVPATH=x\0SUBSYSTEM=pci"), &u),
                     EBADMSG);
        /* udevd's own format is read through libudev, never parsed here. */
        ASSERT_ERROR(uevent_parse(MSG("libudev\0\xfe\xed\xca\xfe"), &u), EBADMSG);
}

TEST(address_shape)
{
        ASSERT_TRUE(uevent_address_valid("0000:00:03.1", 12));
        ASSERT_TRUE(uevent_address_valid("ffff:ff:1f.7", 12));
        ASSERT_FALSE(uevent_address_valid("0000:00:03.8", 12));
        ASSERT_FALSE(uevent_address_valid("0000:00:03.10", 13));
        ASSERT_FALSE(uevent_address_valid("0000:00:03", 10));
        ASSERT_FALSE(uevent_address_valid("0000:00:0G.1", 12));
        ASSERT_FALSE(uevent_address_valid("0000:00:03:1", 12));
        ASSERT_FALSE(uevent_address_valid("0000:0A:03.1", 12));
}

int main(void)
{
        RUN(bind);
        RUN(unbind_and_remove);
        RUN(vfio_dev_names_its_pci_parent);
        RUN(other_subsystems_have_no_address);
        RUN(malformed);
        RUN(address_shape);
        return 0;
}
