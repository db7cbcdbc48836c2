# The VM tiers' machine, sourced by run-vm.sh and system/run-system.sh: the seed thread's
# devices, two functions in one group (virtio-net, no ACS), a PCIe-to-PCI bridge with two
# conventional e1000s (one group), an SR-IOV igb; a hotplug slot (pcie-root-port); QEMU's human
# monitor on a socket, through which monitor.py answers the guest's "HOTPLUG: ..." lines.
#
# vm_machine MONITOR-SOCKET: sets VM_MACHINE to QEMU's arguments for all of that.
vm_machine() {
        VM_MACHINE=(-accel tcg -M q35,kernel-irqchip=split -cpu max -m 1024
                -monitor unix:"$1",server=on,wait=off
                -global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off
                -device pcie-root-port,id=rp1,chassis=1,slot=1,addr=6
                -device intel-iommu,intremap=on
                -device virtio-net-pci,addr=3.0,multifunction=on,netdev=n0 -netdev user,id=n0
                -device virtio-net-pci,addr=3.1,netdev=n1 -netdev user,id=n1
                -device pcie-pci-bridge,id=br1,addr=4
                -device e1000,bus=br1,addr=1,netdev=n2 -netdev user,id=n2
                -device e1000,bus=br1,addr=2,netdev=n3 -netdev user,id=n3
                -device igb,addr=5,netdev=n4 -netdev user,id=n4 -netdev user,id=n9)
}
