#!/bin/bash
# Runs the system tier's test inside the guest (ioasid-test.service), prints its verdict on
# the console and powers the guest off.
cd /usr/local/lib/ioasid-test || exit 1
export PATH=/usr/local/lib/ioasid-test:$PATH
test=$(sed -n 's/.*ioasid\.test=\([a-z0-9-]*\).*/\1/p' /proc/cmdline)
# Every device the kernel found has been through udevd before the test looks at them.
udevadm settle --timeout=60
echo "VM-START test=$test kernel=$(uname -r) $(systemctl --version | head -n1)"
. ./lib.sh
. ./test.sh
if (set -e; run); then echo "VM-RESULT: PASS"; else echo "VM-RESULT: FAIL"; fi
sync
systemctl poweroff --force --force
