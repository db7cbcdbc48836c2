#!/usr/bin/python3
# The host's hands in a VM scenario: follows the serial console and sends every line
# "HOTPLUG: <command>" the guest prints to QEMU's human monitor (device_add, device_del), until
# QEMU exits. usage: monitor.py MONITOR-SOCKET SERIAL-LOG QEMU-PID
import os
import socket
import sys
import time

sock_path, log_path, qemu = sys.argv[1], sys.argv[2], int(sys.argv[3])


def alive():
    try:
        os.kill(qemu, 0)
        return True
    except ProcessLookupError:
        return False


def send(command):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.settimeout(5)
    s.sendall(command.encode() + b"\n")
    time.sleep(0.5)
    try:
        reply = s.recv(65536).decode(errors="replace")
    except socket.timeout:
        reply = ""
    s.close()
    sys.stderr.write("monitor: %s\n%s\n" % (command, reply))


done = 0
while alive():
    try:
        with open(log_path, errors="replace") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines[done:]:
        if line.startswith("HOTPLUG: "):
            send(line[len("HOTPLUG: "):].strip())
    done = len(lines)
    time.sleep(0.2)
