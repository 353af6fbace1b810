"""The agent tool run_command, sandboxed in the agent's workspace, with bubblewrap (the
backend a daemon started by hand uses; the code socket's is tested under systemd by
tests/system). The model is the fake LLM: each test scripts tool calls and reads what the
tool told the model. A command's output, standard error and exit code reach the model;
files persist from one call and one execution to the next, in a folder no other agent or
workflow sees; the timeout and a cancel kill the command; there is no network unless the
node allows it; the workspaces go with their workflow."""

import os
import shutil
import socket
import time
import unittest

from agent_case import AgentTestBase, tool_results


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


def call(command, call_id):
        return {"tool_calls": [{"id": call_id, "name": "run_command", "arguments": {"command": command}}]}


@unittest.skipUnless(shutil.which("bwrap"), "bubblewrap is not installed")
class RunCommandTest(AgentTestBase):
        provider = "openai"

        def command_agent(self, model, slug=None, node_id="agent", tool_config=None):
                """An agent with its model (scenario model) and a run_command tool, in a new
                workflow (trig → agent) or added to slug after its last agent."""
                if slug is None:
                        slug = self.agent_flow(model, tools=())
                else:
                        self.make_node(slug, "ai_model", node_id=node_id + "_model",
                                       config={"llm_credential_id": self.credential(), "model_name": model,
                                               "max_tokens": 300})
                        self.make_node(slug, "agent", node_id=node_id, config={"system_prompt": "Terse."})
                        self.make_edge(slug, "agent", node_id)
                        self.make_edge(slug, node_id + "_model", node_id, edge_label="llm")
                self.make_node(slug, "run_command", node_id=node_id + "_cmd",
                               config={"extra_config": dict(tool_config or {})})
                self.make_edge(slug, node_id + "_cmd", node_id, edge_label="tool")
                return slug

        def run_commands(self, commands, tool_config=None, expect="completed"):
                """Runs an agent whose model calls run_command with each command in turn, then
                answers; returns ([what each call told the model], detail, slug)."""
                model = self.scenario()
                self.fake.script(model, *[call(c, "call_%d" % i) for i, c in enumerate(commands)], {"text": "done"})
                slug = self.command_agent(model, tool_config=tool_config)
                status, detail = self.run_flow(slug, {"text": "go"}, timeout=60)
                self.assertEqual(status["status"], expect, detail)
                return self.results(model, len(commands)), detail, slug

        def results(self, model, n):
                last = self.fake.requests(model)[-1]["body"]
                got = tool_results(self.provider, last)
                return [got["call_%d" % i] for i in range(n)]

        def workflow_id(self, slug):
                r = self.admin.get("/workflows/%s/" % slug)
                self.assertEqual(r.status, 200, r)
                return r.body["id"]

        def workspace(self, slug, node_id="agent"):
                return os.path.join(self.daemon.state_dir, "workspaces", str(self.workflow_id(slug)), node_id, "home")

        def inside(self, slug, node_id="agent"):
                return "/run/workspaces/%d/%s/home" % (self.workflow_id(slug), node_id)

        def assertNothingWith(self, marker):
                for _ in range(100):
                        if processes_with(marker) == 0:
                                return
                        time.sleep(0.05)
                self.fail("processes with %s are still running" % marker)

        def test_output_reaches_the_model(self):
                (out,), detail, slug = self.run_commands(["echo hello; pwd; echo $HOME; id -u"])
                home = self.inside(slug)
                self.assertEqual(out, "hello\n%s\n%s\n%d" % (home, home, os.geteuid()))

        def test_stderr_and_exit_code(self):
                (failed, fine, silent), _, _ = self.run_commands(["echo out; echo err >&2; echo again >&2; exit 3",
                                                                  "echo fine", "true"])
                self.assertEqual(failed, "out\n[stderr] err\n[stderr] again\n[exit code: 3]")
                self.assertEqual(fine, "fine")
                self.assertEqual(silent, "(no output)")

        def test_long_output_loses_its_middle(self):
                (out,), _, _ = self.run_commands(["printf 'START'; head -c 200000 /dev/zero | tr '\\0' x; "
                                                  "printf 'END'"])
                self.assertTrue(out.startswith("STARTxxx"), out[:100])
                self.assertTrue(out.endswith("xxxEND"), out[-100:])
                self.assertIn("\n[... 150008 characters left out ...]\n", out)
                self.assertEqual(len(out), 50000 + len("\n[... 150008 characters left out ...]\n"))

        def test_files_persist_between_calls_and_executions(self):
                model = self.scenario()
                self.fake.script(model,
                                 call("echo first > notes.txt; mkdir -p sub && echo deep > sub/f", "call_0"),
                                 call("cat notes.txt sub/f; ls -a ~", "call_1"),
                                 {"text": "done"},
                                 call("echo second >> notes.txt; cat $HOME/notes.txt", "call_0"),
                                 {"text": "done again"})
                slug = self.command_agent(model)
                status, detail = self.run_flow(slug, {"text": "go"}, timeout=60)
                self.assertEqual(status["status"], "completed", detail)
                first = self.results(model, 2)
                self.assertEqual(first[0], "(no output)")
                self.assertEqual(first[1], "first\ndeep\n.\n..\nnotes.txt\nsub")

                status, detail = self.run_flow(slug, {"text": "again"}, timeout=60)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(self.results(model, 1), ["first\nsecond"])
                # On the host: the agent node's folder in the state directory.
                with open(os.path.join(self.workspace(slug), "notes.txt")) as f:
                        self.assertEqual(f.read(), "first\nsecond\n")

        def test_only_its_own_workspace_is_there(self):
                # Another agent of the same workflow, and an agent of another workflow, each
                # with a file of its own; then the first agent looks around in a new execution.
                mine, helper, stranger = self.scenario(), self.scenario(), self.scenario()
                slug = self.command_agent(mine)
                self.command_agent(helper, slug=slug, node_id="helper")
                other = self.command_agent(stranger)
                wf, other_wf = self.workflow_id(slug), self.workflow_id(other)
                probe = ("ls /run/workspaces; ls /run/workspaces/%d; cat secret; "
                         "cat /run/workspaces/%d/helper/home/secret; cat /run/workspaces/%d/agent/home/secret; "
                         "ls / | tr '\\n' ' '; echo; touch /usr/x 2>&1 | grep -c Read-only" % (wf, wf, other_wf))
                self.fake.script(mine, call("echo mine > secret", "call_0"), {"text": "done"},
                                 call(probe, "call_0"), {"text": "done"})
                self.fake.script(helper, call("echo helper > secret", "call_0"), {"text": "done"}, {"text": "idle"})
                self.fake.script(stranger, call("echo stranger > secret", "call_0"), {"text": "done"})
                for s in (slug, other, slug):
                        status, detail = self.run_flow(s, {"text": "go"}, timeout=60)
                        self.assertEqual(status["status"], "completed", detail)

                out = self.results(mine, 1)[0].split("\n")
                self.assertEqual(out[:3], [str(wf), "agent", "mine"])
                # Nothing of the host but /usr, read-only, and what the sandbox makes for itself.
                self.assertEqual(out[3].split(), ["bin", "dev", "lib", "lib64", "proc", "run", "sbin", "tmp", "usr"])
                self.assertEqual(out[4], "1")
                self.assertRegex(out[5], r"^\[stderr\] cat: /run/workspaces/%d/helper/home/secret: No such file" % wf)
                self.assertRegex(out[6], r"^\[stderr\] cat: /run/workspaces/%d/agent/home/secret: No such file"
                                 % other_wf)
                self.assertEqual(len(out), 7, out)
                # Each has its own, on the host.
                for s, node, text in ((slug, "agent", "mine"), (slug, "helper", "helper"), (other, "agent", "stranger")):
                        with open(os.path.join(self.workspace(s, node), "secret")) as f:
                                self.assertEqual(f.read(), text + "\n")

        def test_timeout_kills_the_command(self):
                started = time.monotonic()
                (out,), detail, _ = self.run_commands(["echo before; sleep 4361.5 & sleep 4361.5; echo never"],
                                                      tool_config={"timeout": 1})
                self.assertLess(time.monotonic() - started, 20)
                self.assertTrue(out.startswith("Error: The command ran longer than 1 s and was killed."), out)
                self.assertIn("before", out)
                self.assertNotIn("never", out)
                self.assertNothingWith("4361.5")

        def test_cancel_kills_the_command(self):
                model = self.scenario()
                self.fake.script(model, call("sleep 4362.5 & sleep 4362.5", "call_0"), {"text": "done"})
                slug = self.command_agent(model)
                execution_id = self.execute(slug, {"text": "go"})
                for _ in range(200):
                        if processes_with("4362.5") >= 2:
                                break
                        time.sleep(0.05)
                self.assertGreaterEqual(processes_with("4362.5"), 1)
                r = self.admin.post("/executions/%s/cancel/" % execution_id)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(self.wait_for(execution_id)["status"], "cancelled")
                self.assertNothingWith("4362.5")

        def test_no_network_unless_allowed(self):
                listener = socket.socket()
                listener.bind(("127.0.0.1", 0))
                listener.listen(5)
                try:
                        probe = ("python3 -c \"import socket; socket.create_connection(('127.0.0.1', %d), 3); "
                                 "print('connected')\"" % listener.getsockname()[1])
                        (closed,), _, _ = self.run_commands([probe])
                        self.assertNotIn("connected", closed)
                        self.assertIn("[exit code: 1]", closed)
                        (opened,), _, _ = self.run_commands([probe], tool_config={"allow_network": True})
                        self.assertEqual(opened, "connected")
                finally:
                        listener.close()

        def test_bad_calls_are_the_models_to_handle(self):
                model = self.scenario()
                self.fake.script(model, {"tool_calls": [{"id": "call_0", "name": "run_command", "arguments": {}}]},
                                 {"tool_calls": [{"id": "call_1", "name": "run_command",
                                                  "arguments": {"command": 42}}]},
                                 {"text": "done"})
                slug = self.command_agent(model)
                status, detail = self.run_flow(slug, {"text": "go"}, timeout=60)
                self.assertEqual(status["status"], "completed", detail)
                self.assertEqual(self.results(model, 2),
                                 ["Error: The argument 'command' (a string) is missing"] * 2)

                (out,), _, _ = self.run_commands(["true"], tool_config={"timeout": "soon"})
                self.assertEqual(out, "Error: The run_command node's timeout must be a number of seconds between 1 "
                                      "and 86400")
                self.assertHealthy()

        def test_workspaces_go_with_their_workflow(self):
                _, _, slug = self.run_commands(["echo x > f"])
                _, _, other = self.run_commands(["echo y > f"])
                folder = os.path.dirname(os.path.dirname(self.workspace(slug)))
                other_folder = os.path.dirname(os.path.dirname(self.workspace(other)))
                self.assertTrue(os.path.isdir(folder))
                r = self.admin.delete("/workflows/%s/" % slug)
                self.assertEqual(r.status, 204, r)
                r = self.admin.post("/workflows/batch-delete/", {"slugs": [other]})
                self.assertEqual(r.status, 200, r)
                for _ in range(100):
                        if not os.path.exists(folder) and not os.path.exists(other_folder):
                                break
                        time.sleep(0.05)
                self.assertFalse(os.path.exists(folder))
                self.assertFalse(os.path.exists(other_folder))
                # Nothing left behind under another name either.
                root = os.path.join(self.daemon.state_dir, "workspaces")
                for _ in range(100):
                        if not [e for e in os.listdir(root) if e.startswith("deleted-")]:
                                break
                        time.sleep(0.05)
                self.assertEqual([e for e in os.listdir(root) if e.startswith("deleted-")], [])


if __name__ == "__main__":
        unittest.main()
