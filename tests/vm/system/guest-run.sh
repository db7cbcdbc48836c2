#!/bin/bash
# Runs the system tier's tests inside the guest (ioasid-test.service), one after the other in
# the order the kernel command line gives (ioasid.tests=a,b,...), each in a subshell of its own,
# with the devices put back as they were between two tests; prints a verdict per test and one
# for the boot, and powers the guest off.
cd /usr/local/lib/ioasid-test || exit 1
export PATH=/usr/local/lib/ioasid-test:$PATH
tests=$(sed -n 's/.*ioasid\.tests=\([a-z0-9,-]*\).*/\1/p' /proc/cmdline)
# Every device the kernel found has been through udevd before the tests look at them.
udevadm settle --timeout=60
echo "VM-START tests=$tests kernel=$(uname -r) $(systemctl --version | head -n1)"
. ./lib.sh
result=PASS
first=1
for t in ${tests//,/ }; do
        if [ -z "$first" ] && ! (set -e; reset_devices); then
                echo "VM-TEST $t: FAIL (the devices could not be put back after the last test)"
                result=FAIL
                break
        fi
        first=
        echo "VM-TEST $t: start"
        if (set -e; . "./tests/$t.sh"; run); then
                echo "VM-TEST $t: PASS"
        else
                echo "VM-TEST $t: FAIL"
                result=FAIL
        fi
done
echo "VM-RESULT: $result"
sync
systemctl poweroff --force --force
