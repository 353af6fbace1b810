#!/usr/bin/env python3
"""Runs the integration suite against the built pipelitd.

  run.py [FILTER...]

FILTERs are substrings of test ids (module.Class.test_name); without any, every
test_*.py here runs. The backend comes from PIPELIT_TEST_DATABASE (sqlite|postgresql).
The last line is always "integration-<backend>: N passed, M failed[, K skipped]"; the exit
status is 0 only when nothing failed (77, "skipped" for automake, when PostgreSQL is not
installed for the postgresql run)."""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep the source tree clean

import harness  # noqa: E402


class Result(unittest.TextTestResult):
        def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.passed = 0
                self._dumped = set()

        def addSuccess(self, test):
                super().addSuccess(test)
                self.passed += 1

        def _dump_daemon_log(self, test):
                # A class fixture failure has no class to look at; setUpClass prints its own.
                daemon = getattr(type(test), "daemon", None)
                if not isinstance(daemon, harness.Daemon) or id(daemon) in self._dumped:
                        return
                self._dumped.add(id(daemon))
                self.stream.write("\n--- pipelitd log for %s (tail) ---\n%s\n--- end of log ---\n"
                                  % (type(test).__name__, daemon.log()[-8000:]))
                self.stream.flush()

        def addFailure(self, test, err):
                super().addFailure(test, err)
                self._dump_daemon_log(test)

        def addError(self, test, err):
                super().addError(test, err)
                self._dump_daemon_log(test)


def main(argv):
        backend = harness.BACKEND
        label = "integration-%s" % backend

        if not os.access(harness.PIPELITD, os.X_OK):
                print("%s: %s not found or not executable" % (label, harness.PIPELITD))
                print("%s: 0 passed, 1 failed" % label)
                return 1
        if backend == "postgresql" and harness.postgres_bindir() is None:
                print("%s: PostgreSQL is not installed, skipping" % label)
                print("%s: 0 passed, 0 failed" % label)
                return 77

        loader = unittest.TestLoader()
        if argv:
                loader.testNamePatterns = ["*%s*" % f for f in argv]
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)

        started = time.monotonic()
        runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=Result)
        try:
                result = runner.run(suite)
        finally:
                harness.stop_postgres()

        # A test with several failing subtests counts once.
        failed = len({getattr(t, "test_case", t).id()
                      for t, _ in result.failures + result.errors}) + \
                len(result.unexpectedSuccesses)
        skipped = len(result.skipped)
        line = "%s: %d passed, %d failed" % (label, result.passed, failed)
        if skipped:
                line += ", %d skipped" % skipped
        sys.stdout.write("(%.1f s)\n" % (time.monotonic() - started))
        print(line)
        sys.stdout.flush()
        return 1 if failed else 0


if __name__ == "__main__":
        sys.exit(main(sys.argv[1:]))
