"""What the Python test drivers of tests/hostile, tests/load and tests/deploy
share: a work directory and a triagetest.stack Stack that stops what it
started (also on SIGTERM), checks printed as PASS/FAIL lines and counted,
files written under BUILD/artifacts, and the end: "N passed, N failed", the
work directory removed (kept, and its path printed, when something failed),
exit status.

    from triagetest import driver

    run = driver.Run("load", args.pgid_file)
    try:
        proc, port = run.stack.start_exporter(...)
        run.check(proc.alive(), "the exporter stayed up", proc.output("err"))
    finally:
        run.stack.stop()
    return run.finish()

Standard library only.
"""

import os
import shutil
import signal
import tempfile

from triagetest import stack

REPO = stack.REPO


class Run:
    def __init__(self, name, pgid_file=None):
        self.workdir = tempfile.mkdtemp(prefix="triage_%s." % name)
        self.stack = stack.Stack(self.workdir, pgid_file=pgid_file, log=print)
        signal.signal(signal.SIGTERM, stack.raise_on_signal)
        self.passed = 0
        self.failed = 0

    def check(self, ok, name, detail=""):
        """Prints "PASS: name" or "FAIL: name" and the detail; returns ok."""
        if ok:
            print("PASS: %s" % name, flush=True)
            self.passed += 1
        else:
            print("FAIL: %s\n    %s" % (name, str(detail)[:2000].replace("\n", "\n    ")), flush=True)
            self.failed += 1
        return ok

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        if self.failed:
            print("kept %s" % self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return 1 if self.failed else 0


def write_artifact(build, name, text):
    """Writes BUILD/artifacts/NAME."""
    os.makedirs(os.path.join(build, "artifacts"), exist_ok=True)
    with open(os.path.join(build, "artifacts", name), "w", encoding="utf-8") as f:
        f.write(text)
