"""
run_all.py - run every tests/blackbox/test_*.py (unittest), print one line
per test ("ok", "FAIL", "ERROR", "skip") with the traceback of each failure,
and end with exactly one line "N passed, N failed". Exit status 0 only when
nothing failed and at least one test passed. A worker that its sandbox
killed (lighttpd: "child signalled: 31", SIGSYS) in any instance of the run
is one more failure, whether or not a test noticed.

Usage: python3 run_all.py [-k SUBSTRING] [test_module ...]
"""

import glob
import os
import re
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class LineResult(unittest.TestResult):
    """Prints one line per test as it finishes."""

    def __init__(self):
        super().__init__()
        self.passed = 0
        self.failed = 0
        self.t0 = None

    @staticmethod
    def _name(test):
        return test.id().replace("__main__.", "")

    def startTest(self, test):
        super().startTest(test)
        self.t0 = time.time()

    def _line(self, test, word):
        dt = time.time() - self.t0 if self.t0 else 0.0
        print("%-5s %s (%.2fs)" % (word, self._name(test), dt), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        self._line(test, "ok")

    def _bad(self, test, err, word):
        self.failed += 1
        if hasattr(test, "_testMethodName"):
            self._line(test, word)
        else:   # setUpClass/setUpModule failure: the whole class or module
            print("%-5s %s" % (word, test), flush=True)
        print("".join(traceback.format_exception(*err)).rstrip()
              .replace("\n", "\n    | ").join(("    | ", "")), flush=True)
        inst = getattr(test, "inst", None)
        if inst is not None and hasattr(inst, "name"):
            print("    | logs: %s/%s.{lighttpd-error,cli}.log" % (
                os.environ.get("BLACKBOX_LOGDIR", "logs"), inst.name),
                flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._bad(test, err, "FAIL")

    def addError(self, test, err):
        super().addError(test, err)
        self._bad(test, err, "ERROR")

    def addSubTest(self, test, subtest, err):
        # A failing subTest makes unittest skip addSuccess for the test, so
        # without this the test would vanish from the output and the count.
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._bad(subtest, err,
                      "FAIL" if issubclass(err[0], test.failureException)
                      else "ERROR")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        print("skip  %s: %s" % (self._name(test), reason), flush=True)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed += 1
        self._line(test, "ok")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.failed += 1
        self._line(test, "FAIL")


def _filter(suite, sub):
    """The tests of suite whose id contains sub."""
    out = unittest.TestSuite()
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            out.addTests(_filter(t, sub))
        elif sub in t.id():
            out.addTest(t)
    return out


def sandbox_kills(since):
    """Print a FAIL line for each instance log written since `since` in
    which lighttpd saw a worker die of SIGSYS; their number."""
    from harness import LOGDIR
    n = 0
    for path in sorted(glob.glob(os.path.join(LOGDIR,
                                              "*.lighttpd-error.log"))):
        if os.path.getmtime(path) < since:
            continue
        with open(path, errors="replace") as f:
            kills = re.findall(r"child signalled: 31\b", f.read())
        if kills:
            n += 1
            print("FAIL  %s: %d worker(s) killed by SIGSYS (the sandbox)"
                  % (os.path.basename(path), len(kills)), flush=True)
    return n


def main(argv):
    sub = None
    names = []
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "-k" and args:
            sub = args.pop(0)
        else:
            names.append(a[:-3] if a.endswith(".py") else a)
    loader = unittest.TestLoader()
    if names:
        suite = loader.loadTestsFromNames(
            [os.path.basename(n) for n in names])
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    if sub:
        suite = _filter(suite, sub)
    result = LineResult()
    t0 = time.time()
    suite.run(result)
    result.failed += sandbox_kills(t0)
    print("# black-box tests took %.1fs; logs in %s" % (
        time.time() - t0, os.environ.get("BLACKBOX_LOGDIR", "(default)")))
    print("%d passed, %d failed" % (result.passed, result.failed), flush=True)
    return 0 if result.failed == 0 and result.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
