"""The code node through a code socket, without systemd: systemd-socket-activate serves a
socket the way pipelit-code.socket does (a pipelit-code-runner per connection, the
connection as its standard input and output) and pipelitd finds it through
$PIPELIT_CODE_SOCKET. The sandbox around the runner is the unit file's, tested under
systemd by tests/system; this proves the daemon's side: the snippet runs behind the
socket, its output and errors come back, a timeout and a cancel kill it, and without the
socket the node is refused."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from test_executions import EngineTestCase

RUNNER = os.path.join(os.path.dirname(os.path.abspath(harness.PIPELITD)), "pipelit-code-runner")
ACTIVATE = shutil.which("systemd-socket-activate")


def processes_with(marker):
        n = 0
        for pid in os.listdir("/proc"):
                if not pid.isdigit():
                        continue
                try:
                        with open("/proc/%s/cmdline" % pid, "rb") as f:
                                n += marker.encode() in f.read()
                except OSError:
                        pass
        return n


@unittest.skipUnless(ACTIVATE, "systemd-socket-activate is not installed")
@unittest.skipUnless(os.access(RUNNER, os.X_OK), "pipelit-code-runner is not built")
class CodeSocketTest(EngineTestCase):
        @classmethod
        def setUpClass(cls):
                cls.dir = tempfile.mkdtemp(prefix="pipelit-code-socket-")
                cls.path = os.path.join(cls.dir, "code.socket")
                # The runners' own messages (and a sanitizer's) land here.
                cls.runner_log = open(os.path.join(cls.dir, "runners.log"), "w+")
                cls.activator = subprocess.Popen([ACTIVATE, "--inetd", "--accept", "--listen", cls.path, RUNNER],
                                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                 stderr=cls.runner_log)
                for _ in range(100):
                        if os.path.exists(cls.path):
                                break
                        time.sleep(0.02)
                cls.daemon_env = {"PIPELIT_CODE_SOCKET": cls.path}
                try:
                        super().setUpClass()
                except BaseException:
                        cls.stop_activator()
                        raise

        @classmethod
        def stop_activator(cls):
                cls.activator.kill()
                cls.activator.wait()
                cls.runner_log.seek(0)
                log = cls.runner_log.read()
                cls.runner_log.close()
                shutil.rmtree(cls.dir, ignore_errors=True)
                return log

        @classmethod
        def tearDownClass(cls):
                try:
                        super().tearDownClass()
                finally:
                        log = cls.stop_activator()
                # Every run here is a good one: the runners had nothing to complain about.
                lines = [l for l in log.splitlines() if l.startswith("pipelit-code-runner:") or "Sanitizer" in l]
                if lines:
                        raise AssertionError("the runners said:\n" + "\n".join(lines))

        def code(self, extra):
                slug = self.flow([("calc", "code", dict(extra, retries=0))], [("trig", "calc")])
                return slug

        def test_snippet_runs_behind_the_socket(self):
                # The snippet's parent is the runner (bubblewrap, which would be picked without
                # the socket, would put it in a pid namespace of its own).
                slug = self.code({"language": "python", "code":
                                  "import os\n"
                                  "return {'n': len(trigger['text']), 'pid': os.getpid(),\n"
                                  "        'parent': open(f'/proc/{os.getppid()}/comm').read().strip()}"})
                status, detail = self.run_flow(slug, {"text": "hello"})
                self.assertEqual(status["status"], "completed", detail)
                output = status["final_output"]["node_outputs"]["calc"]["output"]
                self.assertEqual(output["n"], 5)
                self.assertGreater(output["pid"], 2)
                self.assertEqual(output["parent"], "pipelit-code-ru")       # comm: 15 characters

        def test_failing_snippet_fails_the_node(self):
                slug = self.code({"language": "sh", "code": "echo partial; echo 'it broke' >&2; exit 3"})
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed", detail)
                calc = self.logs_of(detail, "calc")[-1]
                self.assertEqual(calc["error_code"], "code", calc)
                self.assertIn("exited with status 3", calc["error"])
                self.assertIn("it broke", calc["error"])

        def test_timeout_kills_the_snippet(self):
                slug = self.code({"language": "sh", "code": "sleep 4351.5 & sleep 4351.5", "timeout": 1})
                started = time.monotonic()
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed", detail)
                self.assertEqual(self.logs_of(detail, "calc")[-1]["error_code"], "timeout", detail)
                self.assertLess(time.monotonic() - started, 10)
                self.assertNothingWith("4351.5")

        def test_cancel_kills_the_snippet(self):
                slug = self.code({"language": "sh", "code": "sleep 4352.5 & sleep 4352.5"})
                execution_id = self.execute(slug)
                self.wait_node_status(execution_id, "calc", "running")
                for _ in range(100):
                        if processes_with("4352.5") >= 2:
                                break
                        time.sleep(0.05)
                r = self.admin.post("/executions/%s/cancel/" % execution_id)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(self.wait_for(execution_id)["status"], "cancelled")
                self.assertNothingWith("4352.5")

        def assertNothingWith(self, marker):
                for _ in range(100):
                        if processes_with(marker) == 0:
                                return
                        time.sleep(0.05)
                self.fail("processes with %s are still running" % marker)


class NoCodeSocketTest(EngineTestCase):
        """The code socket asked for, and not there: refused, never run some other way."""

        daemon_env = {"PIPELIT_SANDBOX": "socket", "PIPELIT_CODE_SOCKET": "/nonexistent/code.socket"}

        def test_code_is_refused(self):
                slug = self.flow([("calc", "code", {"language": "sh", "code": "echo should not run"})],
                                 [("trig", "calc")])
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed", detail)
                calc = self.logs_of(detail, "calc")[-1]
                self.assertEqual(calc["error_code"], "sandbox", calc)
                self.assertIn("pipelit-code.socket", calc["error"])
                self.assertIn("refusing to run it unsandboxed", calc["error"])
                # The daemon is still there.
                self.assertEqual(self.admin.get("/users/me/").status, 200)


if __name__ == "__main__":
        unittest.main()
