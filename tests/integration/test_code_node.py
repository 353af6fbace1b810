"""The code node end to end: the snippet runs sandboxed and gets its data through
variables; its source is never rendered as a template."""

import shutil
import unittest

from test_executions import EngineTestCase


@unittest.skipUnless(shutil.which("bwrap"), "bubblewrap is not installed")
class CodeNodeTest(EngineTestCase):
        def test_snippet_reads_its_input_and_returns_a_value(self):
                slug = self.flow([("calc", "code", {"language": "python",
                                                    "code": "return {'n': len(trigger['text'])}"}),
                                  ("reply", "reply_chat", {"message": "{{ calc.output.n }}"})],
                                 [("trig", "calc"), ("calc", "reply")])
                status, detail = self.run_flow(slug, {"text": "hello"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(status["final_output"], {"output": "5"})

        def test_source_is_not_a_template(self):
                # Data spliced into source would be code injection; "{{" is legal Python.
                snippet = "x = '{{ trigger.text }}'\nreturn x + f'{{{len(x)}}}'"
                slug = self.flow([("calc", "code", {"language": "python", "code": snippet})],
                                 [("trig", "calc")])
                status, detail = self.run_flow(slug, {"text": "'; import os; '"})
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(status["final_output"]["node_outputs"]["calc"],
                                 {"output": "{{ trigger.text }}{18}"})

        def test_failing_snippet_fails_the_node_with_its_error(self):
                slug = self.flow([("calc", "code", {"language": "python", "retries": 0,
                                                    "code": "raise ValueError('bad input')"})],
                                 [("trig", "calc")])
                status, detail = self.run_flow(slug)
                self.assertEqual(status["status"], "failed", detail)
                self.assertIn("bad input", status["error_message"])


if __name__ == "__main__":
        unittest.main()
