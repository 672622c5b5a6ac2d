"""Writing, or checking, the committed output of a generator script
(scripts/gen_dashboards.py, scripts/gen_deploy.py). Standard library only."""

import os


def write_or_check(files, check, what, rerun):
    """files: {path: text}. With check, writes nothing, prints "stale: ..."
    for every file that differs from (or is missing against) its text and
    then `rerun`, and returns 1 when any did, else prints "<what> up to date"
    and returns 0. Without check, writes every file (creating its directory)
    and prints "wrote <path>"; returns 0."""
    if check:
        stale = []
        for path, text in sorted(files.items()):
            try:
                with open(path, encoding="utf-8") as f:
                    current = f.read()
            except OSError as e:
                stale.append("%s: cannot read (%s)" % (path, e.strerror))
                continue
            if current != text:
                stale.append("%s: differs from the generator's output" % path)
        for s in stale:
            print("stale: " + s)
        if stale:
            print("run: " + rerun)
            return 1
        print("%s up to date: %s" % (what, ", ".join(sorted(os.path.basename(p) for p in files))))
        return 0
    for path, text in sorted(files.items()):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print("wrote " + path)
    return 0
