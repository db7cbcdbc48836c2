#!/usr/bin/python3
# JSON has one number type: an independent varlink implementation may write the float 1.0 as
# "1" (Go's encoder does). Our certification client and server talk here through a proxy that
# rewrites every message that way, in both directions, and the certification must still pass.
# usage: varlink-numbers.py SERVER-BINARY CERT-CLIENT-BINARY
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time


def integral_floats_as_ints(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, dict):
        return {k: integral_floats_as_ints(x) for k, x in v.items()}
    if isinstance(v, list):
        return [integral_floats_as_ints(x) for x in v]
    return v


def pump(src, dst, seen):
    """Copies NUL-terminated messages from src to dst, each one re-encoded."""
    buf = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            buf += data
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                out = json.dumps(integral_floats_as_ints(msg), separators=(",", ":")).encode()
                if out != raw:
                    seen.append(out)
                dst.sendall(out + b"\0")
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    server_bin, client_bin = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="ioasid-numbers-") as tmp:
        server_sock = os.path.join(tmp, "server")
        proxy_sock = os.path.join(tmp, "proxy")
        server = subprocess.Popen([server_bin, "--socket", server_sock])
        try:
            for _ in range(500):
                if os.path.exists(server_sock):
                    break
                time.sleep(0.01)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(proxy_sock)
            listener.listen(1)
            rewritten = []

            def accept():
                conn, _ = listener.accept()
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                upstream.connect(server_sock)
                threading.Thread(target=pump, args=(upstream, conn, rewritten),
                                 daemon=True).start()
                pump(conn, upstream, rewritten)

            threading.Thread(target=accept, daemon=True).start()
            out = subprocess.run([client_bin, proxy_sock], capture_output=True, text=True,
                                 timeout=60)
            sys.stderr.write(out.stdout + out.stderr)
            # The proxy did rewrite the floats (Test03's reply, Test04's call), or the test
            # proves nothing.
            assert any(b'"float":1}' in m or b'"float":1,' in m for m in rewritten), rewritten
            assert out.returncode == 0, "certification through the proxy failed"
        finally:
            server.terminate()
            server.wait(timeout=10)


main()
