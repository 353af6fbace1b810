"""The D-Bus service org.pipelit.Pipelit1 and pipelitctl, on a private system bus of our own
(dbus-daemon with our policy file): the interface as documented in
dbus/org.pipelit.Pipelit1.xml, status, import/export, runs followed live, executions,
cancel and resume, refusals of bad input and of unprivileged callers, and a daemon without
a bus."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

from harness import (BACKEND, PIPELITD, SRCDIR, Daemon, DaemonTestCase, _rmtree, unique)

PIPELITCTL = os.path.join(os.path.dirname(os.path.abspath(PIPELITD)), "pipelitctl")
POLICY = os.path.join(SRCDIR, "dbus", "org.pipelit.Pipelit1.conf")
INTERFACE_XML = os.path.join(SRCDIR, "dbus", "org.pipelit.Pipelit1.xml")
BUS_NAME = "org.pipelit.Pipelit1"
MANAGER_PATH = "/org/pipelit/Pipelit1"
NOBODY = 65534

# A system bus as Debian's system.conf sets it up, with our policy file included.
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%(socket)s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  %(own)s
  <include>%(policy)s</include>
</busconfig>
"""


class PrivateBus:
        """A dbus-daemon of our own, configured as a system bus; stopped by its PID."""

        def __init__(self, extra_config=""):
                """extra_config: more busconfig elements (policies, a servicedir)."""
                self.dir = tempfile.mkdtemp(prefix="pipelit-bus-")
                # Other users connect in the unprivileged tests.
                os.chmod(self.dir, 0o755)
                self.socket = os.path.join(self.dir, "bus")
                self.address = "unix:path=" + self.socket
                own = ""
                if os.geteuid() != 0:
                        # The policy lets root and "pipelit" own the name; we are neither.
                        own = '<policy user="%d"><allow own="%s"/></policy>' % (os.geteuid(), BUS_NAME)
                own += extra_config
                config = os.path.join(self.dir, "bus.conf")
                with open(config, "w") as f:
                        f.write(BUS_CONFIG % {"socket": self.socket, "policy": POLICY, "own": own})
                p = subprocess.run(["dbus-daemon", "--config-file=" + config, "--fork", "--nopidfile",
                                    "--print-pid=1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=10)
                if p.returncode != 0:
                        raise AssertionError("dbus-daemon failed: %s" % p.stderr.decode())
                self.pid = int(p.stdout.split()[0])

        def env(self):
                return {"DBUS_SYSTEM_BUS_ADDRESS": self.address, "DBUS_SESSION_BUS_ADDRESS": self.address}

        def stop(self):
                try:
                        os.kill(self.pid, 15)
                except ProcessLookupError:
                        pass
                _rmtree(self.dir)


def have_bus_tools():
        return all(shutil.which(t) for t in ("dbus-daemon", "busctl", "dbus-send")) and os.path.exists(PIPELITCTL)


SHOUT = {"format": "pipelit-workflow", "version": 1,
         "workflow": {"name": "Shout"},
         "nodes": [{"node_id": "trig", "component_type": "trigger_manual"},
                   {"node_id": "up", "component_type": "transform",
                    "config": {"extra_config": {"program": ".trigger.text | ascii_upcase"}}}],
         "edges": [{"source_node_id": "trig", "target_node_id": "up"}]}


def flow(name, nodes, edges):
        """An export document: a trigger_manual "trig" and nodes [(id, type, extra_config)]."""
        doc = {"format": "pipelit-workflow", "version": 1, "workflow": {"name": name},
               "nodes": [{"node_id": "trig", "component_type": "trigger_manual"}],
               "edges": [{"source_node_id": s, "target_node_id": t} for s, t in edges]}
        for node_id, component_type, extra in nodes:
                doc["nodes"].append({"node_id": node_id, "component_type": component_type,
                                     "config": {"extra_config": extra}})
        return doc


def interface_members(root, name):
        """The interface's members as comparable tuples (comments and whitespace aside)."""
        for iface in root.iter("interface"):
                if iface.get("name") == name:
                        return [canonical(e) for e in iface]
        return None


def canonical(e):
        return (e.tag, tuple(sorted(e.attrib.items())), tuple(canonical(c) for c in e))


@unittest.skipUnless(have_bus_tools(), "needs dbus-daemon, busctl, dbus-send and pipelitctl")
class DbusTest(DaemonTestCase):
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

        # helpers -----------------------------------------------------------------------

        def ctl(self, *args, uid=None, timeout=30, env=None):
                argv = [PIPELITCTL] + list(args)
                if uid is not None:
                        argv = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] + argv
                full_env = dict(os.environ, **self.bus.env())
                full_env.pop("NO_COLOR", None)
                full_env.update(env or {})
                p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
                                   timeout=timeout)
                p.out = p.stdout.decode("utf-8", "replace")
                p.err = p.stderr.decode("utf-8", "replace")
                return p

        def ctl_ok(self, *args, **kw):
                p = self.ctl(*args, **kw)
                self.assertEqual(p.returncode, 0, "pipelitctl %s: %s%s" % (" ".join(args), p.out, p.err))
                return p

        def ctl_json(self, *args):
                return json.loads(self.ctl_ok("--json", *args).out)

        def import_doc(self, doc):
                path = self.daemon.write_file(unique("wf-") + ".json", json.dumps(doc))
                return self.ctl_ok("import", path).out.strip()

        def wait_status(self, execution_id, status, timeout=15):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                        e = self.ctl_json("execution", execution_id)
                        if e["status"] == status:
                                return e
                        time.sleep(0.1)
                self.fail("execution %s did not become %s: %r" % (execution_id, status, e))

        def call_error(self, member, *args, uid=None):
                """Calls member with string arguments, expecting an error: (name, message)."""
                argv = ["dbus-send", "--system", "--print-reply", "--dest=" + BUS_NAME, MANAGER_PATH,
                        BUS_NAME + ".Manager." + member] + ["string:" + a for a in args]
                if uid is not None:
                        argv = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] + argv
                p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=dict(os.environ, **self.bus.env()), timeout=10)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                err = p.stderr.decode().strip()
                self.assertTrue(err.startswith("Error "), err)
                name, _, text = err[len("Error "):].partition(": ")
                return name, text

        def assert_healthy(self):
                self.assertEqual(self.ctl_json("status")["state"], "running")
                self.assertTrue(self.daemon.running())

        # the interface -----------------------------------------------------------------

        def test_introspection_matches_the_documented_interface(self):
                # The Manager, a workflow's object and a live execution's (waiting for its answer).
                slug = self.import_doc(flow("Ask", [("ask", "human_confirmation", {"prompt": "ok?"})],
                                            [("trig", "ask")]))
                execution_id = self.ctl_ok("run", slug).out.strip()
                self.wait_status(execution_id, "interrupted")
                paths = [MANAGER_PATH]
                for member, arg in (("GetWorkflowPath", slug), ("GetExecutionPath", execution_id)):
                        p = subprocess.run(["busctl", "--system", "call", BUS_NAME, MANAGER_PATH, BUS_NAME + ".Manager",
                                            member, "s", arg], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           env=dict(os.environ, **self.bus.env()), timeout=10)
                        self.assertEqual(p.returncode, 0, p.stderr)
                        paths.append(json.loads(p.stdout.decode().split(" ", 1)[1]))
                documented = ET.parse(INTERFACE_XML).getroot()
                seen = []
                for path in paths:
                        p = subprocess.run(["busctl", "--system", "--xml-interface", "introspect", BUS_NAME, path],
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           env=dict(os.environ, **self.bus.env()), timeout=10)
                        self.assertEqual(p.returncode, 0, p.stderr)
                        live = ET.fromstring(p.stdout)
                        ours = [i.get("name") for i in live.iter("interface")
                                if not i.get("name").startswith("org.freedesktop.DBus.")]
                        self.assertEqual(len(ours), 1, (path, ours))
                        self.assertEqual(interface_members(live, ours[0]), interface_members(documented, ours[0]),
                                         "%s differs from %s" % (ours[0], INTERFACE_XML))
                        seen += ours
                self.assertEqual(seen, [i.get("name") for i in documented.iter("interface")])
                self.ctl_ok("cancel", execution_id)

        def test_status(self):
                p = self.ctl_ok("status")
                self.assertIn("running", p.out)
                self.assertNotIn("\x1b[", p.out, "colour on a pipe")
                s = self.ctl_json("status")
                self.assertEqual(s["state"], "running")
                self.assertEqual(s["database"], BACKEND)
                self.assertEqual(s["broker"], "local")
                self.assertRegex(s["version"], r"^\d+\.\d+")
                self.assertIsInstance(s["active_executions"], int)
                self.assertIsInstance(s["queued_nodes"], int)

        def test_colour_only_on_a_terminal_without_no_color(self):
                def on_tty(extra_env):
                        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
                        env.update(self.bus.env(), TERM="xterm", **extra_env)
                        master, slave = os.openpty()
                        try:
                                p = subprocess.run([PIPELITCTL, "status"], stdout=slave, stderr=subprocess.PIPE,
                                                   env=env, timeout=10)
                                self.assertEqual(p.returncode, 0, p.stderr)
                                return os.read(master, 65536).decode("utf-8", "replace")
                        finally:
                                os.close(master)
                                os.close(slave)

                self.assertIn("\x1b[", on_tty({}))
                self.assertNotIn("\x1b[", on_tty({"NO_COLOR": "1"}))

        def test_help_documents_exit_codes(self):
                p = self.ctl_ok("--help")
                self.assertIn("Exit status", p.out)
                self.assertIn("NO_COLOR", p.out)
                p = self.ctl("frobnicate")
                self.assertEqual(p.returncode, 2)
                self.assertIn("unknown command", p.err)
                p = self.ctl("show")
                self.assertEqual(p.returncode, 2)

        # workflows ---------------------------------------------------------------------

        def test_import_show_export(self):
                slug = self.import_doc(SHOUT)
                self.assertRegex(slug, r"^shout")
                listed = self.ctl_json("list-workflows")
                self.assertIn(slug, [w["slug"] for w in listed["items"]])
                self.assertIn(slug, self.ctl_ok("list-workflows").out)
                shown = self.ctl_json("show", slug)
                self.assertEqual(sorted(n["node_id"] for n in shown["nodes"]), ["trig", "up"])
                self.assertIn("transform", self.ctl_ok("show", slug).out)
                doc = json.loads(self.ctl_ok("export", slug).out)
                self.assertEqual(doc["format"], "pipelit-workflow")
                self.assertEqual(len(doc["edges"]), 1)
                # The same as the REST API has it, owned by the admin.
                r = self.admin.get("/workflows/%s/" % slug)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["owner_id"], self.admin_id)

        def test_import_refuses_bad_documents(self):
                path = self.daemon.write_file("broken.json", "{not json")
                p = self.ctl("import", path)
                self.assertEqual(p.returncode, 1)
                self.assertIn("not valid JSON", p.err)
                bad = flow("Bad", [("x", "no_such_type", {})], [("trig", "x")])
                path = self.daemon.write_file("bad.json", json.dumps(bad))
                p = self.ctl("import", path)
                self.assertEqual(p.returncode, 1)
                self.assertIn("nodes[1]", p.err)
                p = self.ctl("import", "/nonexistent/file.json")
                self.assertEqual(p.returncode, 1)
                self.assertIn("No such file", p.err)
                self.assert_healthy()

        # runs --------------------------------------------------------------------------

        def test_run_follow_prints_node_statuses_and_output(self):
                slug = self.import_doc(SHOUT)
                p = self.ctl("run", slug, "--text", "hello", "--follow")
                self.assertEqual(p.returncode, 0, p.out + p.err)
                lines = p.out.splitlines()
                self.assertIn("up running", lines)
                self.assertIn("up success", lines)
                self.assertLess(lines.index("up running"), lines.index("up success"))
                output = json.loads(p.out[p.out.index("{"):])
                self.assertEqual(output["node_outputs"]["up"]["output"], "HELLO")

        def test_run_follow_of_a_failing_run_exits_1(self):
                slug = self.import_doc(flow("Boom", [("up", "transform", {"program": "error(\"boom\")"})],
                                            [("trig", "up")]))
                p = self.ctl("run", slug, "--follow")
                self.assertEqual(p.returncode, 1, p.out + p.err)
                self.assertIn("up failed", p.out)
                self.assertIn("failed", p.err)
                self.assertIn("boom", p.err)

        def test_run_payload_reaches_the_trigger(self):
                slug = self.import_doc(flow("Payload", [("get", "transform", {"program": ".trigger.payload.n + 1"})],
                                            [("trig", "get")]))
                p = self.ctl_ok("--json", "run", slug, "--payload", '{"n": 41}', "--follow")
                e = json.loads(p.out)
                self.assertEqual(e["status"], "completed")
                self.assertEqual(e["final_output"]["node_outputs"]["get"]["output"], 42)

        def test_run_refuses_bad_input(self):
                p = self.ctl("run", "no-such-workflow")
                self.assertEqual(p.returncode, 1)
                self.assertIn("Workflow 'no-such-workflow' not found", p.err)
                slug = self.import_doc(SHOUT)
                p = self.ctl("run", slug, "--payload", "{")
                self.assertEqual(p.returncode, 2)
                self.assertIn("--payload", p.err)
                p = self.ctl("run", slug, "--payload", "[1]")
                self.assertEqual(p.returncode, 2)
                # Malformed requests that reach the daemon get named errors.
                for member, args, error, message in (
                                ("Run", (slug, "{"), "InvalidArgument", "not valid JSON"),
                                ("Run", (slug, '{"payload": 3}'), "InvalidArgument", "payload"),
                                ("Run", ("nope", ""), "NoSuchWorkflow", "Workflow 'nope' not found"),
                                ("GetWorkflow", ("nope",), "NoSuchWorkflow", "not found"),
                                ("GetExecution", ("nope",), "NoSuchExecution", "not found"),
                                ("ListExecutions", ('{"status": "odd"}',), "InvalidArgument", "status"),
                                ("ListExecutions", ("[]",), "InvalidArgument", "object"),
                                ("ImportWorkflow", ("",), "InvalidArgument", "empty"),
                                ("ResumeExecution", ("nope", "1"), "NoSuchExecution", "not found")):
                        name, text = self.call_error(member, *args)
                        self.assertEqual(name, "org.pipelit.Pipelit1.Error." + error, (member, args, text))
                        self.assertIn(message, text, (member, args))
                self.assert_healthy()

        # executions ----------------------------------------------------------------------

        def test_executions_and_execution(self):
                slug = self.import_doc(SHOUT)
                self.ctl_ok("run", slug, "--text", "a", "--follow")
                listed = self.ctl_json("executions", "--workflow", slug)
                self.assertEqual(listed["total"], 1)
                execution_id = listed["items"][0]["execution_id"]
                self.assertEqual(listed["items"][0]["status"], "completed")
                self.assertIn(execution_id, self.ctl_ok("executions").out)
                e = self.ctl_json("execution", execution_id)
                self.assertEqual(e["workflow_slug"], slug)
                self.assertEqual(e["final_output"]["node_outputs"]["up"]["output"], "A")
                p = self.ctl_ok("execution", execution_id)
                self.assertIn("completed", p.out)
                self.assertIn('"A"', p.out)
                p = self.ctl("execution", "00000000-0000-4000-8000-000000000000")
                self.assertEqual(p.returncode, 1)
                self.assertIn("not found", p.err)
                p = self.ctl("executions", "--status", "odd")
                self.assertEqual(p.returncode, 1)
                self.assertIn("status", p.err)

        def test_cancel(self):
                # The wait holds back the node after it.
                slug = self.import_doc(flow("Slow", [("pause", "wait", {"duration": 30}),
                                                     ("after", "transform", {"program": "1"})],
                                            [("trig", "pause"), ("pause", "after")]))
                execution_id = self.ctl_ok("run", slug).out.strip()
                self.ctl_ok("cancel", execution_id)
                self.wait_status(execution_id, "cancelled")
                p = self.ctl("cancel", execution_id)
                self.assertEqual(p.returncode, 1)
                self.assertIn("already cancelled", p.err)

        def test_queued_nodes(self):
                slug = self.import_doc(flow("Later", [("pause", "wait", {"duration": 30}),
                                                      ("after", "reply_chat", {"message": "later"})],
                                            [("trig", "pause"), ("pause", "after")]))
                before = self.ctl_json("status")["queued_nodes"]
                execution_id = self.ctl_ok("run", slug).out.strip()
                # The wait ran: the node after it is queued for 30 s from now.
                deadline = time.monotonic() + 10
                while self.ctl_json("status")["queued_nodes"] <= before and time.monotonic() < deadline:
                        time.sleep(0.05)
                queued = self.ctl_json("status")["queued_nodes"]
                self.assertEqual(queued, before + 1)
                self.ctl_ok("cancel", execution_id)
                self.assertEqual(self.ctl_json("status")["queued_nodes"], queued - 1)

        def test_resume(self):
                slug = self.import_doc(flow("Ask", [("ask", "human_confirmation", {"prompt": "ok?"}),
                                                    ("after", "transform", {"program": "\"went on\""})],
                                            [("trig", "ask"), ("ask", "after")]))
                execution_id = self.ctl_ok("run", slug).out.strip()
                self.wait_status(execution_id, "interrupted")
                status = self.ctl_json("status")
                self.assertGreaterEqual(status["active_executions"], 1)
                p = self.ctl_ok("resume", execution_id, "yes")
                self.assertIn(execution_id, p.out)
                e = self.wait_status(execution_id, "completed")
                self.assertEqual(e["final_output"]["node_outputs"]["after"]["output"], "went on")
                p = self.ctl("resume", execution_id, "yes")
                self.assertEqual(p.returncode, 1)
                self.assertIn("not interrupted", p.err)

        # who may call what ---------------------------------------------------------------

        @unittest.skipUnless(os.geteuid() == 0, "needs root to call as another user")
        def test_unprivileged_callers_read_but_do_not_change(self):
                slug = self.import_doc(SHOUT)
                p = self.ctl_ok("status", uid=NOBODY)
                self.assertIn("running", p.out)
                self.ctl_ok("list-workflows", uid=NOBODY)
                p = self.ctl("run", slug, uid=NOBODY)
                self.assertEqual(p.returncode, 1, p.out + p.err)
                self.assertIn("Only root", p.err)
                name, _ = self.call_error("CancelExecution", "00000000-0000-4000-8000-000000000000", uid=NOBODY)
                self.assertEqual(name, "org.freedesktop.DBus.Error.AccessDenied")
                path = self.daemon.write_file("nobody.json", json.dumps(SHOUT))
                os.chmod(os.path.dirname(path), 0o755)
                p = self.ctl("import", path, uid=NOBODY)
                self.assertEqual(p.returncode, 1)
                self.assertEqual(self.ctl_json("executions", "--workflow", slug)["total"], 0)


@unittest.skipUnless(have_bus_tools(), "needs dbus-daemon, busctl, dbus-send and pipelitctl")
class NoBusTest(unittest.TestCase):
        def test_daemon_runs_without_a_bus(self):
                d = Daemon(env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/bus"})
                try:
                        d.start()
                        self.assertEqual(d.client().get("/health").status, 200)
                        self.assertIn("No system bus", d.log())
                        d.stop()
                finally:
                        d.cleanup()

        def test_bus_can_be_turned_off(self):
                bus = PrivateBus()
                d = Daemon(env=bus.env(), config="[Bus]\nEnabled=no\n")
                try:
                        d.start()
                        p = subprocess.run([PIPELITCTL, "status"], stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, env=dict(os.environ, **bus.env()),
                                           timeout=10)
                        self.assertEqual(p.returncode, 3, p.stderr)
                        self.assertIn("not running", p.stderr.decode())
                        d.stop()
                finally:
                        d.cleanup()
                        bus.stop()


if __name__ == "__main__":
        unittest.main()
