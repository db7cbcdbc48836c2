#!/usr/bin/env python3
# Turns interface description files into C string constants, so the IDL text a daemon returns
# from GetInterfaceDescription is the file in the source tree, byte for byte.
# usage: embed-idl.py OUT.c FILE.varlink...
import os
import sys

out = sys.argv[1]
with open(out, "w") as f:
    f.write("/* Generated from the interface files in proto/idl; do not edit. */\n")
    for path in sys.argv[2:]:
        name = os.path.basename(path)[: -len(".varlink")]
        ident = "vl_idl_" + "".join(c if c.isalnum() else "_" for c in name.lower())
        with open(path, encoding="utf-8") as src:
            text = src.read()
        f.write("extern const char %s[];\nconst char %s[] =\n" % (ident, ident))
        for line in text.splitlines(keepends=True):
            esc = line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            f.write('        "%s"\n' % esc)
        f.write("        ;\n")
