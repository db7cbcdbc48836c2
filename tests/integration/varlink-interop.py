#!/usr/bin/python3
# Interoperability with an independent varlink implementation (python-varlink): it introspects
# our server, parses our interface descriptions with its own scanner, and runs the whole
# certification exchange against it, then checks the standard errors as it sees them.
# usage: varlink-interop.py SERVER-BINARY
import math
import os
import subprocess
import sys
import tempfile
import time

import varlink


def start_server(binary, sock):
    proc = subprocess.Popen([binary, "--socket", sock], stderr=subprocess.PIPE)
    for _ in range(200):
        if os.path.exists(sock):
            return proc
        time.sleep(0.01)
    proc.kill()
    sys.exit("server did not come up")


def certify(address):
    with varlink.Client(address) as client, client.open("org.varlink.certification") as con:
        client_id = con.Start()["client_id"]
        ret = con.Test01(client_id)
        assert ret == {"bool": True}, ret
        ret = con.Test02(client_id, ret["bool"])
        assert ret == {"int": 1}, ret
        ret = con.Test03(client_id, ret["int"])
        assert ret == {"float": 1.0}, ret
        ret = con.Test04(client_id, ret["float"])
        assert ret == {"string": "ping"}, ret
        ret = con.Test05(client_id, ret["string"])
        assert ret["float"] == math.pi, ret
        ret = con.Test06(client_id, ret["bool"], ret["int"], ret["float"], ret["string"])
        ret = con.Test07(client_id, ret["struct"])
        ret = con.Test08(client_id, ret["map"])
        ret = con.Test09(client_id, ret["set"])
        replies = [r["string"] for r in con.Test10(client_id, ret["mytype"], _more=True)]
        assert replies == ["Reply number %d" % i for i in range(1, 11)], replies
        con.Test11(client_id, replies, _oneway=True)
        ret = con.End(client_id)
        assert ret == {"all_ok": True}, ret


def errors(address):
    with varlink.Client(address) as client:
        with client.open("org.varlink.service") as svc:
            info = svc.GetInfo()
            assert "org.varlink.certification" in info["interfaces"], info
            for iface in info["interfaces"]:
                # python-varlink parses each description: a syntax error would raise here.
                desc = svc.GetInterfaceDescription(iface)["description"]
                varlink.Interface(desc)
            try:
                svc.GetInterfaceDescription("io.ioasid.Missing")
                raise AssertionError("missing interface was described")
            except varlink.InterfaceNotFound as e:
                assert e.parameters()["interface"] == "io.ioasid.Missing"
        with client.open("org.varlink.certification") as con:
            # Out of order: the server says which call it wanted.
            client_id = con.Start()["client_id"]
            try:
                con.Test02(client_id, True)
                raise AssertionError("out-of-order call accepted")
            except varlink.VarlinkError as e:
                assert e.error() == "org.varlink.certification.CertificationError", e.error()
                wants = e.parameters()["wants"]
                assert wants["method"] == "org.varlink.certification.Test01", wants


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "sock")
        proc = start_server(binary, sock)
        try:
            certify("unix:" + sock)
            errors("unix:" + sock)
            # The same exchange through the command line tool, as an admin would use it.
            out = subprocess.run(
                ["/usr/bin/python3", "-m", "varlink.cli", "call",
                 "unix:%s/io.ioasid.Test.Ping" % sock, '{"payload": "hello"}'],
                check=True, capture_output=True, text=True).stdout
            assert '"hello"' in out, out
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        if proc.returncode != 0:
            sys.exit("server exited with %d" % proc.returncode)
    print("python-varlink interop passed")


if __name__ == "__main__":
    main()
