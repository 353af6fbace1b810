"""The workflow and execution objects of org.pipelit.Pipelit1 on a private system bus: the
Manager names their paths, a workflow's properties are the REST API's values, the
ObjectManager lists every workflow, an execution's object announces itself, tells its status,
current nodes and model usage as it runs (the fake LLM provider answers), stays a while after
the end and goes; Run, Activate, Deactivate, Cancel and Resume on the objects act as the REST
API does; unprivileged callers read but do not act; paths of nothing are unknown objects."""

import json
import os
import signal
import subprocess
import threading
import time
import unittest

from agent_case import AgentTestBase
from busclient import BusConnection
from harness import SRCDIR, unique
from test_dbus import BUS_NAME, MANAGER_PATH, NOBODY, PrivateBus, have_bus_tools
from test_dbus_admin import ACTION, FAKE_POLKIT, POLKIT_POLICY, BusCase

PRICES_PATH = os.path.join(SRCDIR, "data", "prices.json")
MANAGER = BUS_NAME + ".Manager"
WORKFLOW = BUS_NAME + ".Workflow"
EXECUTION = BUS_NAME + ".Execution"
WORKFLOW_PREFIX = MANAGER_PATH + "/workflow/"
EXECUTION_PREFIX = MANAGER_PATH + "/execution/"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
LINGER = 10  # seconds an ended execution keeps its object
DBUS_SEND_TYPES = {"s": "string", "u": "uint32", "t": "uint64"}
# busctl monitor may watch the test bus (the bus itself lets only its own user).
MONITOR_POLICY = """
  <policy context="default">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
"""


def bus_label(s):
        """A path element as sd_bus_path_encode() writes it: anything but letters, and digits
        after the first character, becomes _xx."""
        if not s:
                return "_"
        return "".join(c if c.isascii() and (c.isalpha() or (i > 0 and c.isdigit())) else "_%02x" % ord(c)
                       for i, c in enumerate(s))


def usec(timestamp):
        """µs since the epoch of the API's "2026-11-26T00:54:34.123456Z"."""
        import calendar
        seconds, _, fraction = timestamp.rstrip("Z").partition(".")
        return calendar.timegm(time.strptime(seconds, "%Y-%m-%dT%H:%M:%S")) * 1000000 + int(fraction.ljust(6, "0"))


def values(props):
        """{name: value} of busctl's {name: {"type", "data"}}."""
        return {k: v["data"] for k, v in props.items()}


class Monitor:
        """Every message on the bus as busctl monitor shows it (JSON), read on a thread."""

        def __init__(self, env):
                self.messages = []
                self.cond = threading.Condition()
                self.proc = subprocess.Popen(["busctl", "--system", "--json=short", "monitor"], stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, env=env)
                self.thread = threading.Thread(target=self._read, daemon=True)
                self.thread.start()
                # A signal of our own shows when the monitor sees the bus.
                marker = "/org/pipelit/test/m" + unique()
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                        subprocess.run(["dbus-send", "--system", "--type=signal", marker, "org.pipelit.Test.Marker"],
                                       env=env, timeout=10, check=True)
                        if self.wait(lambda m: m.get("path") == marker, timeout=0.5, fail=False):
                                return
                raise AssertionError("busctl monitor saw nothing")

        def _read(self):
                for line in self.proc.stdout:
                        try:
                                m = json.loads(line)
                        except ValueError:
                                continue
                        with self.cond:
                                self.messages.append(m)
                                self.cond.notify_all()

        def wait(self, match, timeout=20, fail=True):
                """The first message that match accepts, waiting for it."""
                deadline = time.monotonic() + timeout
                with self.cond:
                        while True:
                                for m in self.messages:
                                        if match(m):
                                                return m
                                left = deadline - time.monotonic()
                                if left <= 0:
                                        if fail:
                                                ours = [(m.get("path"), m.get("member"), m["payload"]["data"])
                                                        for m in self.messages
                                                        if (m.get("path") or "").startswith("/org/pipelit/Pipelit1")]
                                                raise AssertionError("no such message; ours: %r" % ours[-10:])
                                        return None
                                self.cond.wait(left)

        def signals(self, path, member):
                with self.cond:
                        return [m for m in self.messages
                                if m.get("type") == "signal" and m.get("member") == member and
                                (m.get("path") == path or (member.startswith("Interfaces") and
                                                           m["payload"]["data"][0] == path))]

        def changes(self, path):
                """The properties of each PropertiesChanged of path, in order: [{name: value}]."""
                return [values(m["payload"]["data"][1]) for m in self.signals(path, "PropertiesChanged")]

        def stop(self):
                self.proc.terminate()
                self.proc.wait(10)
                self.proc.stdout.close()


@unittest.skipUnless(have_bus_tools(), "needs dbus-daemon, busctl, dbus-send and pipelitctl")
class DbusObjectsTest(AgentTestBase):
        provider = "openai"
        bus = None

        @classmethod
        def setUpClass(cls):
                cls.bus = PrivateBus(MONITOR_POLICY)
                cls.daemon_env = dict(cls.bus.env(), PIPELIT_PRICE_TABLE=PRICES_PATH)
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

        def env(self):
                return dict(os.environ, **self.bus.env())

        def busctl(self, *args, uid=None):
                argv = ["busctl", "--system", "--json=short"] + list(args)
                if uid is not None:
                        argv = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] + argv
                p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env(), timeout=30)
                p.out, p.err = p.stdout.decode(), p.stderr.decode()
                return p

        def call(self, path, interface, member, signature="", *args, uid=None):
                """The reply's values; fails the test on an error."""
                argv = ["call", BUS_NAME, path, interface, member]
                if signature:
                        argv += [signature] + [str(a) for a in args]
                p = self.busctl(*argv, uid=uid)
                self.assertEqual(p.returncode, 0, "%s%r: %s" % (member, args, p.err))
                return json.loads(p.out)["data"] if p.out.strip() else []

        def call_error(self, path, interface, member, signature="", *args, uid=None):
                """dbus-send, expecting an error: (name, message)."""
                argv = ["dbus-send", "--system", "--print-reply", "--dest=" + BUS_NAME, path, interface + "." + member]
                argv += ["%s:%s" % (DBUS_SEND_TYPES[t], a) for t, a in zip(signature, args)]
                if uid is not None:
                        argv = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] + argv
                p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env(), timeout=10)
                self.assertNotEqual(p.returncode, 0, "%s%r answered: %s" % (member, args, p.stdout))
                err = p.stderr.decode().strip()
                self.assertTrue(err.startswith("Error "), err)
                name, _, text = err[len("Error "):].partition(": ")
                return name, text

        def get_all(self, path, interface, uid=None):
                return values(self.call(path, "org.freedesktop.DBus.Properties", "GetAll", "s", interface, uid=uid)[0])

        def workflow_path(self, slug):
                return self.call(MANAGER_PATH, MANAGER, "GetWorkflowPath", "s", slug)[0]

        def execution_path(self, execution_id):
                return self.call(MANAGER_PATH, MANAGER, "GetExecutionPath", "s", execution_id)[0]

        def subscribe(self):
                """Subscribe() on a connection of our own, held until the test ends."""
                conn = BusConnection(self.bus.address)
                self.addCleanup(conn.close)
                conn.call(BUS_NAME, MANAGER_PATH, MANAGER, "Subscribe")
                return conn

        def monitor(self):
                m = Monitor(self.env())
                self.addCleanup(m.stop)
                return m

        def wait_flow(self, seconds=30):
                """trig → pause (a wait) → after: runs until cancelled."""
                return self.flow([("pause", "wait", {"duration": seconds}), ("after", "transform", {"program": "1"})],
                                 [("trig", "pause"), ("pause", "after")])

        # workflows -----------------------------------------------------------------------

        def test_workflow_object_has_the_rest_api_values(self):
                slug = self.flow([("up", "transform", {"program": "1"})], [("trig", "up")],
                                 description="Shouts " + unique())
                path = self.workflow_path(slug)
                self.assertEqual(path, WORKFLOW_PREFIX + bus_label(slug))
                self.assertIn("_2d", path)  # the slug's "-"
                rest = self.admin.get("/workflows/%s/" % slug).body
                props = self.get_all(path, WORKFLOW)
                self.assertEqual(props, {
                        "Slug": slug, "Name": rest["name"], "Description": rest["description"],
                        "Active": True, "Owner": "admin", "NodeCount": 2, "LastExecution": "",
                        "UpdatedAt": usec(rest["updated_at"]),
                })
                self.assertEqual(rest["node_count"], 2)
                status, _ = self.run_flow(slug)
                self.assertEqual(status["status"], "completed")
                got = self.busctl("get-property", BUS_NAME, path, WORKFLOW, "LastExecution")
                self.assertEqual(json.loads(got.out)["data"], status["execution_id"], got.err)
                # Export answers what the REST API exports.
                doc = json.loads(self.call(path, WORKFLOW, "Export")[0])
                self.assertEqual(doc, self.admin.get("/workflows/%s/export/" % slug).body)

        def test_object_manager_lists_every_workflow(self):
                slugs = [self.make_workflow()["slug"] for _ in range(2)]
                managed = self.call(MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects")[0]
                rest = self.admin.get("/workflows/?limit=1000").body
                listed = sorted(p for p in managed if p.startswith(WORKFLOW_PREFIX))
                self.assertEqual(listed, sorted(WORKFLOW_PREFIX + bus_label(w["slug"]) for w in rest["items"]))
                for slug in slugs:
                        props = values(managed[WORKFLOW_PREFIX + bus_label(slug)][WORKFLOW])
                        self.assertEqual(props["Slug"], slug)
                # The tree below the Manager, as busctl tree walks it.
                p = subprocess.run(["busctl", "--system", "--list", "tree", BUS_NAME], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=self.env(), timeout=30)
                self.assertEqual(p.returncode, 0, p.stderr)
                for slug in slugs:
                        self.assertIn(WORKFLOW_PREFIX + bus_label(slug), p.stdout.decode().split())

        def test_changes_through_rest_and_bus_are_announced(self):
                slug = self.flow([("up", "transform", {"program": "1"})], [("trig", "up")])
                path = self.workflow_path(slug)
                self.subscribe()
                mon = self.monitor()

                r = self.admin.patch("/workflows/%s/" % slug, {"name": "Renamed " + slug})
                self.assertEqual(r.status, 200, r)
                mon.wait(lambda m: any(c.get("Name") == "Renamed " + slug for c in mon.changes(path)))
                change = [c for c in mon.changes(path) if c.get("Name") == "Renamed " + slug][0]
                self.assertEqual(change["Active"], True)
                self.assertEqual(change["UpdatedAt"], usec(r.body["updated_at"]))

                self.call(path, WORKFLOW, "Deactivate")
                mon.wait(lambda m: any(c.get("Active") is False for c in mon.changes(path)))
                self.assertFalse(self.admin.get("/workflows/%s/" % slug).body["is_active"])
                self.assertFalse(self.get_all(path, WORKFLOW)["Active"])
                name, text = self.call_error(path, WORKFLOW, "Run", "s", "")
                self.assertEqual(name, "org.pipelit.Pipelit1.Error.InvalidArgument")
                self.assertIn("not active", text)

                self.call(path, WORKFLOW, "Activate")
                mon.wait(lambda m: mon.changes(path)[-1].get("Active") is True)
                self.assertTrue(self.admin.get("/workflows/%s/" % slug).body["is_active"])

                # A node added through the REST API counts.
                self.make_node(slug, "transform", node_id="more", config={"extra_config": {"program": "2"}})
                mon.wait(lambda m: any(c.get("NodeCount") == 3 for c in mon.changes(path)))

        # executions ----------------------------------------------------------------------

        def test_a_run_announces_its_object_its_progress_and_its_end(self):
                model = unique("gpt-4o-mini-")
                self.fake.script(model, {"text": "Hello.", "delay": 1.5,
                                         "usage": {"input_tokens": 1200, "output_tokens": 300}})
                slug = self.flow([], [])
                self.make_node(slug, "ai_model", node_id="model",
                               config={"llm_credential_id": self.credential(), "model_name": model})
                self.make_node(slug, "agent", node_id="agent", config={"system_prompt": "Be brief."})
                self.make_edge(slug, "trig", "agent")
                self.make_edge(slug, "model", "agent", edge_label="llm")
                workflow_path = self.workflow_path(slug)
                self.subscribe()
                mon = self.monitor()

                execution_id = self.call(workflow_path, WORKFLOW, "Run", "s", '{"text": "hi"}')[0]
                path = self.execution_path(execution_id)
                self.assertEqual(path, EXECUTION_PREFIX + bus_label(execution_id))

                mon.wait(lambda m: mon.signals(path, "InterfacesAdded"))
                added = mon.signals(path, "InterfacesAdded")[0]
                self.assertEqual(added["path"], MANAGER_PATH)
                first = values(added["payload"]["data"][1][EXECUTION])
                self.assertEqual(first["Id"], execution_id)
                self.assertEqual(first["Workflow"], slug)
                self.assertEqual(first["WorkflowPath"], workflow_path)
                self.assertEqual(first["LlmCalls"], 0)

                def told():
                        """The object's state after each signal: InterfacesAdded's, then each change."""
                        states = [first]
                        for change in mon.changes(path):
                                states.append(dict(states[-1], **change))
                        return states

                mon.wait(lambda m: told()[-1]["Status"] == "completed")
                states = told()
                # While the model thought, the agent was at work.
                self.assertIn({"Status": "running", "CurrentNodes": ["agent"], "LlmCalls": 0},
                              [{k: s[k] for k in ("Status", "CurrentNodes", "LlmCalls")} for s in states])
                statuses = [s["Status"] for s in states]
                self.assertEqual(statuses.index("completed"), len(states) - 1)
                self.assertLessEqual(set(statuses), {"pending", "running", "completed"})
                self.assertEqual(statuses, sorted(statuses, key=["pending", "running", "completed"].index))
                # Each signal tells only what changed.
                for before, change in zip(states, mon.changes(path)):
                        self.assertTrue(change)
                        for name, value in change.items():
                                self.assertNotEqual(before[name], value, name)

                rest = self.detail(execution_id)
                self.assertEqual(rest["status"], "completed", rest)
                final = states[-1]
                self.assertEqual(final["CurrentNodes"], [])
                self.assertEqual(final["StartedAt"], usec(rest["started_at"]))
                self.assertEqual(final["LlmCalls"], rest["llm_calls"])
                self.assertEqual(final["LlmCalls"], 1)
                self.assertEqual(final["TotalTokens"], rest["total_tokens"])
                self.assertEqual(final["TotalTokens"], 1500)
                self.assertAlmostEqual(final["CostUsd"], rest["total_cost_usd"], places=9)
                self.assertGreater(final["CostUsd"], 0)

                # The final state stays readable a while; then the object goes.
                self.assertEqual(self.get_all(path, EXECUTION)["Status"], "completed")
                self.assertIn(path, self.call(MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects")[0])
                mon.wait(lambda m: mon.signals(path, "InterfacesRemoved"), timeout=LINGER + 5)
                removed = mon.signals(path, "InterfacesRemoved")[0]
                self.assertEqual(removed["payload"]["data"], [path, [EXECUTION]])
                name, _ = self.call_error(path, "org.freedesktop.DBus.Properties", "Get", "ss", EXECUTION, "Status")
                self.assertEqual(name, "org.freedesktop.DBus.Error.UnknownObject")
                name, text = self.call_error(MANAGER_PATH, MANAGER, "GetExecutionPath", "s", execution_id)
                self.assertEqual(name, "org.pipelit.Pipelit1.Error.NoSuchExecution")
                self.assertIn("has ended", text)
                self.assertNotIn(path, self.call(MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects")[0])
                # The record is still there.
                self.assertEqual(json.loads(self.call(MANAGER_PATH, MANAGER, "GetExecution", "s",
                                                      execution_id)[0])["status"], "completed")

        def test_cancel_and_resume_on_the_execution_object(self):
                slug = self.wait_flow()
                execution_id = self.execute(slug)
                path = self.execution_path(execution_id)
                self.assertIn(path, self.call(MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects")[0])
                self.call(path, EXECUTION, "Cancel")
                self.assertEqual(self.wait_for(execution_id)["status"], "cancelled")
                self.assertEqual(self.get_all(path, EXECUTION)["Status"], "cancelled")
                # Listed while it lingers, though nobody was subscribed to hear of its end.
                self.assertIn(path, self.call(MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects")[0])
                name, text = self.call_error(path, EXECUTION, "Cancel")
                self.assertEqual(name, "org.pipelit.Pipelit1.Error.NotRunning")
                self.assertIn("already cancelled", text)

                slug = self.flow([("ask", "human_confirmation", {"prompt": "ok?"}),
                                  ("after", "transform", {"program": "\"went on\""})],
                                 [("trig", "ask"), ("ask", "after")])
                execution_id = self.execute(slug)
                self.wait_for(execution_id, ("interrupted",))
                path = self.execution_path(execution_id)
                props = self.get_all(path, EXECUTION)
                self.assertEqual(props["Status"], "interrupted")
                self.assertEqual(props["CurrentNodes"], ["ask"])
                name, _ = self.call_error(path, EXECUTION, "Resume", "s", "{")
                self.assertEqual(name, "org.pipelit.Pipelit1.Error.InvalidArgument")
                answer = json.loads(self.call(path, EXECUTION, "Resume", "s", '"yes"')[0])
                self.assertEqual(answer["execution_id"], execution_id)
                self.assertEqual(answer["node_id"], "ask")
                self.assertEqual(self.wait_for(execution_id)["status"], "completed")

        # who may call what, and nonsense -------------------------------------------------

        @unittest.skipUnless(os.geteuid() == 0, "needs root to call as another user")
        def test_unprivileged_callers_read_but_do_not_act(self):
                slug = self.wait_flow()
                path = self.workflow_path(slug)
                self.assertEqual(self.get_all(path, WORKFLOW, uid=NOBODY)["Slug"], slug)
                for member, signature, args in (("Run", "s", ("",)), ("Activate", "", ()), ("Deactivate", "", ())):
                        name, _ = self.call_error(path, WORKFLOW, member, signature, *args, uid=NOBODY)
                        self.assertEqual(name, "org.freedesktop.DBus.Error.AccessDenied", member)
                self.assertEqual(self.admin.get("/executions/?workflow_slug=%s" % slug).body["total"], 0)
                self.assertTrue(self.admin.get("/workflows/%s/" % slug).body["is_active"])

                execution_id = self.execute(slug)
                epath = self.execution_path(execution_id)
                self.assertEqual(self.get_all(epath, EXECUTION, uid=NOBODY)["Id"], execution_id)
                for member, signature, args in (("Cancel", "", ()), ("Resume", "s", ('"yes"',))):
                        name, _ = self.call_error(epath, EXECUTION, member, signature, *args, uid=NOBODY)
                        self.assertEqual(name, "org.freedesktop.DBus.Error.AccessDenied", member)
                self.assertEqual(self.admin.get("/executions/%s/status/" % execution_id).body["status"], "running")
                self.call(epath, EXECUTION, "Cancel")

        def test_paths_of_nothing_are_unknown_objects(self):
                nobody = "00000000-0000-4000-8000-000000000000"
                for path, interface in ((WORKFLOW_PREFIX + "no_2dsuch", WORKFLOW),
                                        (WORKFLOW_PREFIX + "_", WORKFLOW),
                                        (WORKFLOW_PREFIX + "x/deeper", WORKFLOW),
                                        (EXECUTION_PREFIX + bus_label(nobody), EXECUTION),
                                        (EXECUTION_PREFIX + "not_2dan_2did", EXECUTION)):
                        name, _ = self.call_error(path, "org.freedesktop.DBus.Properties", "GetAll", "s", interface)
                        self.assertEqual(name, "org.freedesktop.DBus.Error.UnknownObject", path)
                        name, _ = self.call_error(path, interface, "Cancel" if interface == EXECUTION else "Export")
                        self.assertEqual(name, "org.freedesktop.DBus.Error.UnknownObject", path)
                for member, arg, error in (("GetWorkflowPath", "no-such", "NoSuchWorkflow"),
                                           ("GetWorkflowPath", "", "NoSuchWorkflow"),
                                           ("GetExecutionPath", nobody, "NoSuchExecution"),
                                           ("GetExecutionPath", "../etc", "NoSuchExecution")):
                        name, _ = self.call_error(MANAGER_PATH, MANAGER, member, "s", arg)
                        self.assertEqual(name, "org.pipelit.Pipelit1.Error." + error, (member, arg))
                self.assertHealthy()


@unittest.skipUnless(have_bus_tools() and os.path.exists(FAKE_POLKIT) and os.geteuid() == 0,
                     "needs dbus-daemon, busctl, dbus-send, pipelitctl, tests/fake-polkit/fake-polkit and root")
class ObjectsPolkitTest(BusCase):
        """polkit grants run and refuses manage-workflows: another user's calls on the objects
        wait for its answer and then go on, or are refused."""

        bus_config = POLKIT_POLICY
        polkit = None

        @classmethod
        def setUpClass(cls):
                super().setUpClass()
                cls.polkit_log = cls.daemon.write_file("polkit.log", "")
                cls.polkit = subprocess.Popen([FAKE_POLKIT, "--grant=" + ACTION + "run", cls.polkit_log],
                                              stdout=subprocess.PIPE, env=dict(os.environ, **cls.bus.env()))
                if cls.polkit.stdout.readline() != b"ready\n":
                        cls.polkit.kill()
                        cls.tearDownClass()
                        raise AssertionError("fake-polkit did not start")

        @classmethod
        def tearDownClass(cls):
                try:
                        if cls.polkit and cls.polkit.poll() is None:
                                cls.polkit.send_signal(signal.SIGTERM)
                                cls.polkit.wait(10)
                finally:
                        super().tearDownClass()

        def object_call(self, path, interface, member, signature="", *args, uid=None):
                argv = ["busctl", "--system", "--json=short", "call", BUS_NAME, path, interface, member]
                if signature:
                        argv += [signature] + [str(a) for a in args]
                return self.run_tool(argv, uid=uid)

        def test_object_methods_ask_polkit(self):
                slug = self.make_workflow()["slug"]
                self.make_node(slug, "trigger_manual", node_id="trig")
                self.make_node(slug, "wait", node_id="pause", config={"extra_config": {"duration": 30}})
                self.make_node(slug, "transform", node_id="after", config={"extra_config": {"program": "1"}})
                self.make_edge(slug, "trig", "pause")
                self.make_edge(slug, "pause", "after")
                path = self.call("GetWorkflowPath", "s", slug)[0]

                p = self.object_call(path, WORKFLOW, "Run", "s", "", uid=NOBODY)
                self.assertEqual(p.returncode, 0, p.err)
                execution_id = json.loads(p.out)["data"][0]
                epath = self.call("GetExecutionPath", "s", execution_id)[0]
                p = self.object_call(epath, EXECUTION, "Cancel", uid=NOBODY)
                self.assertEqual(p.returncode, 0, p.err)
                self.assertEqual(self.admin.get("/executions/%s/status/" % execution_id).body["status"], "cancelled")

                p = self.run_tool(["dbus-send", "--system", "--print-reply", "--dest=" + BUS_NAME, path,
                                   WORKFLOW + ".Deactivate"], uid=NOBODY)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("AccessDenied: polkit does not allow " + ACTION + "manage-workflows", p.err)
                self.assertTrue(self.admin.get("/workflows/%s/" % slug).body["is_active"])
                with open(self.polkit_log) as f:
                        self.assertEqual([line.split()[0] for line in f],
                                         [ACTION + "run", ACTION + "run", ACTION + "manage-workflows"])
                self.assert_healthy()


if __name__ == "__main__":
        unittest.main()
