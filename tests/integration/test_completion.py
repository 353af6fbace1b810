"""pipelitctl's bash completion asks the running daemon for workflow slugs, on the bus the
command line names (tests/test-completion.sh covers commands and options without one)."""

import os
import shutil
import subprocess
import unittest

from harness import SRCDIR, DaemonTestCase
from test_dbus import PIPELITCTL, PrivateBus, have_bus_tools

COMPLETION = os.path.join(SRCDIR, "shell-completion", "bash", "pipelitctl")

# Completes the words given as arguments, the last one under the cursor, as readline does.
COMPLETE = """
. "$COMPLETION"
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_pipelitctl
printf '%s\\n' "${COMPREPLY[@]}"
"""


@unittest.skipUnless(have_bus_tools() and shutil.which("bash"), "needs dbus-daemon, pipelitctl and bash")
class CompletionTest(DaemonTestCase):
        bus = None

        @classmethod
        def setUpClass(cls):
                cls.bus = PrivateBus()
                cls.daemon_env = cls.bus.env()
                try:
                        super().setUpClass()
                except BaseException:
                        cls.bus.stop()
                        raise

        @classmethod
        def tearDownClass(cls):
                try:
                        super().tearDownClass()
                finally:
                        cls.bus.stop()

        def complete(self, *words, session_bus=None):
                """The completions of the last word; the session bus is nowhere unless given."""
                env = dict(os.environ, COMPLETION=COMPLETION,
                           PATH=os.path.dirname(PIPELITCTL) + os.pathsep + os.environ.get("PATH", ""),
                           DBUS_SYSTEM_BUS_ADDRESS=self.bus.address,
                           DBUS_SESSION_BUS_ADDRESS=session_bus or "unix:path=/nonexistent/pipelit-bus")
                p = subprocess.run(["bash", "-c", COMPLETE, "complete", "pipelitctl"] + list(words),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=30)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stderr, b"")
                return sorted(w for w in p.stdout.decode().split("\n") if w)

        def test_slugs_of_the_running_daemon(self):
                forecast = self.make_workflow(name="Forecast")["slug"]
                fetch = self.make_workflow(name="Fetch mail")["slug"]
                slugs = {forecast, fetch}
                for command in ("show", "run", "export"):
                        self.assertTrue(slugs <= set(self.complete(command, "")), command)
                self.assertEqual(self.complete("run", forecast[:-1]), [forecast])
                self.assertTrue(slugs <= set(self.complete("--json", "executions", "--workflow", "")))
                self.assertTrue(slugs <= set(self.complete("executions", "--workflow", "=", "")))
                for sub in ("start", "stop"):
                        self.assertTrue(slugs <= set(self.complete("worker", sub, "")), sub)
                # Only the command's own argument is a slug.
                self.assertEqual(self.complete("show", forecast, ""), [])
                self.assertEqual(self.complete("worker", "list", ""), [])

        def test_the_bus_of_the_command_line(self):
                slug = self.make_workflow(name="Bus choice")["slug"]
                # --user asks the session bus: nobody there, so no slugs and no message.
                self.assertEqual(self.complete("--user", "show", slug), [])
                self.assertEqual(self.complete("--user", "show", slug, session_bus=self.bus.address), [slug])
