#!/usr/bin/env python3
"""The layers of docs/architecture.md hold in the tree and in the build.

1. Every `#include "..."` of a layer's sources names a header of its own
   folder or of a layer below it (the table LAYERS, which mirrors the
   triage_* targets of CMakeLists.txt).
2. The build refuses an upward include: for every layer and every folder of
   another layer, a file that includes one header of that folder is compiled
   with the exact flags the build uses for that layer's sources (read from
   compile_commands.json). It must compile when the folder is allowed and
   must fail with "No such file" when it is not.

Usage: layers.py REPO BUILD_DIR. Prints one line a check and
"N passed, N failed". Standard library only.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

# folder -> the folders its sources may include from (itself included).
LAYERS = {
    "base": ["base"],
    "exposition": ["base", "exposition"],
    "collectors": ["base", "exposition", "collectors"],
    "server": ["base", "server"],
    "exporter": ["base", "exposition", "collectors", "server", "exporter"],
    "rules/rulegen": ["base", "exposition", "rules/rulegen"],
    "tools/simulator": ["base", "exposition", "server", "tools/simulator"],
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(header):
    for folder in sorted(LAYERS, key=len, reverse=True):
        if header.startswith(folder + "/"):
            return folder
    return None


def sources(repo, folder):
    d = os.path.join(repo, folder)
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith((".h", ".cpp")))


def main():
    repo, build = sys.argv[1], sys.argv[2]
    passed = failed = 0

    def check(ok, what, detail=""):
        nonlocal passed, failed
        print(("ok    " if ok else "FAIL  ") + what + ("" if ok or not detail else "\n        " + detail))
        if ok:
            passed += 1
        else:
            failed += 1

    # 1. The includes as written.
    for folder, allowed in LAYERS.items():
        bad = []
        for path in sources(repo, folder):
            with open(path, encoding="utf-8") as f:
                for header in INCLUDE.findall(f.read()):
                    target = folder_of(header)
                    if target is not None and target not in allowed:
                        bad.append("%s includes %s (layer %s)" %
                                   (os.path.relpath(path, repo), header, target))
        check(not bad, "%s/ includes only %s" % (folder, ", ".join(a + "/" for a in allowed)),
              "\n        ".join(bad))

    # 2. The build's own flags refuse what the table forbids.
    with open(os.path.join(build, "compile_commands.json"), encoding="utf-8") as f:
        commands = json.load(f)
    flags = {}
    for entry in commands:
        rel = os.path.relpath(entry["file"], repo)
        folder = os.path.dirname(rel)
        if folder in LAYERS and folder not in flags and rel.endswith(".cpp"):
            args = entry.get("arguments") or shlex.split(entry["command"])
            keep, skip = [], False
            for a in args[1:]:
                if skip:
                    skip = False
                    continue
                if a in ("-o", "-c"):
                    skip = True
                    continue
                if a == entry["file"] or a.endswith(".cpp"):
                    continue
                keep.append(a)
            flags[folder] = (args[0], keep, entry["directory"])
    headers = {}
    for folder in LAYERS:
        hs = [p for p in sources(repo, folder) if p.endswith(".h")]
        # the smallest header of the folder, to keep each compile short
        headers[folder] = os.path.relpath(min(hs, key=os.path.getsize), repo)
    with tempfile.TemporaryDirectory(prefix="triage_layers.") as tmp:
        for layer, allowed in LAYERS.items():
            if layer not in flags:
                check(False, "%s/ has a compile command in compile_commands.json" % layer)
                continue
            compiler, args, cwd = flags[layer]
            for folder in LAYERS:
                probe = os.path.join(tmp, layer.replace("/", "_") + "__" + folder.replace("/", "_") + ".cpp")
                with open(probe, "w", encoding="utf-8") as f:
                    f.write('#include "%s"\n' % headers[folder])
                r = subprocess.run([compiler] + args + ["-fsyntax-only", probe], cwd=cwd,
                                   capture_output=True, text=True)
                if folder in allowed:
                    check(r.returncode == 0, "%s/ builds with #include \"%s\"" % (layer, headers[folder]),
                          r.stderr[-800:])
                else:
                    refused = r.returncode != 0 and "No such file" in r.stderr
                    check(refused, "%s/ cannot build with #include \"%s\" (upward or sideways)" %
                          (layer, headers[folder]), r.stderr[-800:] or "it compiled")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
