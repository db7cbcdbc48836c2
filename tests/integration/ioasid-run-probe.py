#!/usr/bin/python3
# Run by ioasid-run in test-ioasid-run.py: reports, as JSON on stdout, what it was handed.
# usage: ioasid-run-probe.py SOCKET [NAME=VALUE...]   (VALUE an fd number or a path)
import json
import os
import socket
import stat
import sys

from ioasidtest import Client

sock, pairs = sys.argv[1], sys.argv[2:]
report = {"pid": os.getpid(), "args": {}, "env": {k: v for k, v in os.environ.items()
                                                   if k.startswith("IOASID_")}}
for pair in pairs:
    name, value = pair.split("=", 1)
    if value.isdigit():
        st = os.fstat(int(value))  # fails (and so the test) if the fd is not open
        report["args"][name] = {"fd": int(value), "dev": st.st_dev, "ino": st.st_ino,
                                "regular": stat.S_ISREG(st.st_mode)}
    else:
        report["args"][name] = {"path": value}
# Every open fd (but the one listing them): the granted ones and stdio, never the broker
# connection.
links = {}
for fd in os.listdir("/proc/self/fd"):
    try:
        links[int(fd)] = os.readlink("/proc/self/fd/" + fd)
    except FileNotFoundError:
        pass
report["fds"] = sorted(links)
report["sockets"] = [fd for fd, link in links.items() if link.startswith("socket:")]
# The broker's view while this process runs: the lease is held by this very pid.
report["groups"] = Client(sock).call("io.ioasid.Broker.ListGroups")["groups"]
print(json.dumps(report))
