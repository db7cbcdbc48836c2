#!/usr/bin/python3
# libioasid against the real daemon on the fake tier: runs libioasid-client (the shared library
# through its public header) on a tree where group 2 is viable.
# usage: test-libioasid.py IOASIDD MKFAKESYS LIBIOASID_CLIENT
import os
import subprocess
import sys

from ioasidtest import SKIP, Fixture, run, wait_for

DAEMON, MKFAKESYS, CLIENT = sys.argv[1], sys.argv[2], sys.argv.pop(3)

if os.geteuid() != 0:
    print("needs root: Admin calls")
    sys.exit(SKIP)


def test_libioasid():
    with Fixture(DAEMON, MKFAKESYS) as f:
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: f.call("io.ioasid.Broker.GetGroup", {"group": 2})["group"]["viable"],
                 "group 2 viable")
        p = subprocess.run([CLIENT, f.sock, os.path.join(f.root, "dev")], capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 0, "libioasid-client exited %d:\n%s%s" % (p.returncode, p.stdout,
                                                                         p.stderr)


run([test_libioasid])
