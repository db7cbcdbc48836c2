#!/usr/bin/python3
# libioasid's ABI: the shared library exports exactly the functions its public header declares,
# all listed in the version script, and nothing of the code it is built from (proto/, common/).
# usage: check-exports.py HEADER SYMFILE LIBRARY
import re
import subprocess
import sys

header, symfile, library = sys.argv[1:4]
declared = set(re.findall(r"\b(ioasid_[a-z0-9_]+)\(", open(header).read()))
listed = set(re.findall(r"^\s+(ioasid_[a-z0-9_]+);", open(symfile).read(), re.M))
out = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True, text=True,
                     check=True).stdout
exported = {line.split()[2].split("@")[0] for line in out.splitlines()
            if len(line.split()) == 3 and line.split()[1] in "TtWwDdBbRr"}
exported.discard("LIBIOASID_1")

failed = False
for what, a, b in (("declared but not in the version script", declared, listed),
                   ("in the version script but not declared", listed, declared),
                   ("exported but not declared", exported, declared),
                   ("declared but not exported", declared, exported)):
    if a - b:
        print("%s: %s" % (what, " ".join(sorted(a - b))))
        failed = True
print("%d functions declared, listed and exported" % len(declared))
sys.exit(1 if failed else 0)
