"""Log lines about executions carry their journal fields: standard error shows the
PIPELIT_WORKFLOW=, PIPELIT_EXECUTION= and PIPELIT_NODE= fields after the message (under
systemd they are the journal entry's fields, which journalctl PIPELIT_EXECUTION=… finds)."""

import time

from harness import DaemonTestCase

TERMINAL = ("completed", "failed", "cancelled")


class ExecutionLogFieldsTest(DaemonTestCase):
        def flow(self, nodes):
                """A trigger_manual "trig" followed by a chain of [(node_id, type, extra_config)]."""
                slug = self.make_workflow()["slug"]
                self.make_node(slug, "trigger_manual", node_id="trig")
                previous = "trig"
                for node_id, component_type, extra in nodes:
                        self.make_node(slug, component_type, node_id=node_id, config={"extra_config": extra})
                        self.make_edge(slug, previous, node_id)
                        previous = node_id
                return slug

        def run_to_end(self, slug):
                r = self.admin.post("/workflows/%s/execute/" % slug, {"text": "hello"})
                self.assertEqual(r.status, 202, r)
                execution_id = r.body["execution_id"]
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                        r = self.admin.get("/executions/%s/status/" % execution_id)
                        self.assertEqual(r.status, 200, r)
                        if r.body["status"] in TERMINAL:
                                return execution_id, r.body
                        time.sleep(0.05)
                self.fail("execution %s did not end: %r" % (execution_id, r.body))

        def log_lines_of(self, execution_id):
                return [line for line in self.daemon.log().splitlines() if execution_id in line]

        def wait_for_line(self, execution_id, text):
                """The daemon's line about execution_id that contains text: it is written
                just after the run's end is committed, so it may come a moment later."""
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                        lines = [line for line in self.log_lines_of(execution_id) if text in line]
                        if lines:
                                return lines
                        time.sleep(0.05)
                self.fail("no log line about %s with %r:\n%s" % (execution_id, text, self.daemon.log()[-4000:]))

        def assert_failure_logged(self, slug, execution_id, error):
                lines = self.wait_for_line(execution_id, "failed")
                self.assertEqual(len(lines), 1, lines)
                message, _, fields = lines[0].partition(" PIPELIT_")
                self.assertEqual(message, "pipelitd[notice]: Execution %s of workflow '%s' failed: %s"
                                 % (execution_id, slug, error))
                self.assertEqual(("PIPELIT_" + fields).split(),
                                 ["PIPELIT_WORKFLOW=" + slug, "PIPELIT_EXECUTION=" + execution_id])

        def test_failed_run_of_a_quick_node(self):
                # reply_chat runs inside the commit of the node before it.
                slug = self.flow([("reply", "reply_chat", {"message": "{{ nowhere.output }}"})])
                execution_id, status = self.run_to_end(slug)
                self.assertEqual(status["status"], "failed", status)
                self.assert_failure_logged(slug, execution_id, status["error_message"])

        def test_failed_run_of_a_claimed_node(self):
                # transform runs on a worker thread, its jq program in pipelit-jq.
                slug = self.flow([("check", "transform", {"program": "error(\"no weather today\")"})])
                execution_id, status = self.run_to_end(slug)
                self.assertEqual(status["status"], "failed", status)
                self.assertIn("no weather today", status["error_message"])
                self.assert_failure_logged(slug, execution_id, status["error_message"])

        def test_completed_run_logs_nothing(self):
                slug = self.flow([("up", "transform", {"program": ".trigger.text | ascii_upcase"})])
                execution_id, status = self.run_to_end(slug)
                self.assertEqual(status["status"], "completed", status)
                # A failure would have been logged by the time its status is read back.
                time.sleep(0.3)
                self.assertEqual(self.log_lines_of(execution_id), [])
                self.assertHealthy()
