"""Users, API keys and Reload over D-Bus (org.pipelit.Pipelit1 on a private bus) and their
pipelitctl commands: what they create works against the REST API, bad input gets the REST
API's words as InvalidArgument, unprivileged callers get AccessDenied, polkit (a fake on the
test bus, speaking its D-Bus API) decides for other users, and the bus activation file is
one the bus accepts."""

import calendar
import json
import os
import re
import signal
import subprocess
import time
import unittest

from harness import PIPELITD, SRCDIR, DaemonTestCase, unique
from test_dbus import BUS_NAME, MANAGER_PATH, NOBODY, PIPELITCTL, PrivateBus, have_bus_tools

FAKE_POLKIT = os.path.join(os.path.dirname(os.path.abspath(PIPELITD)), "tests", "fake-polkit", "fake-polkit")
MANAGER = BUS_NAME + ".Manager"
ACTION = "org.pipelit.Pipelit1."
PASSWORD = "bus-password-1"

DBUS_SEND_TYPES = {"s": "string", "u": "uint32", "t": "uint64"}

# The fake polkit may own its name and anyone may ask it, as polkit's own policy allows.
POLKIT_POLICY = """
  <policy user="root"><allow own="org.freedesktop.PolicyKit1"/></policy>
  <policy context="default"><allow send_destination="org.freedesktop.PolicyKit1"/></policy>
"""


def as_user(argv, uid):
        if uid is None:
                return argv
        return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] + argv


class BusCase(DaemonTestCase):
        """A daemon on a private system bus, and ways to call it."""

        bus = None
        bus_config = ""

        @classmethod
        def setUpClass(cls):
                cls.bus = PrivateBus(cls.bus_config)
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

        def run_tool(self, argv, uid=None, input=None, env=None, timeout=30):
                full_env = dict(os.environ, **self.bus.env())
                full_env.pop("NO_COLOR", None)
                full_env.update(env or {})
                p = subprocess.run(as_user(argv, uid), input=input, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=full_env, timeout=timeout)
                p.out = p.stdout.decode("utf-8", "replace")
                p.err = p.stderr.decode("utf-8", "replace")
                return p

        def call(self, member, signature="", *args, uid=None):
                """busctl call; the answer's values (JSON), failing the test on an error."""
                argv = ["busctl", "--system", "--json=short", "call", BUS_NAME, MANAGER_PATH, MANAGER, member]
                if signature:
                        argv += [signature] + [str(a) for a in args]
                p = self.run_tool(argv, uid=uid)
                self.assertEqual(p.returncode, 0, "%s%r: %s" % (member, args, p.err))
                return json.loads(p.out)["data"] if p.out.strip() else []

        def call_json(self, member, signature="", *args, uid=None):
                return json.loads(self.call(member, signature, *args, uid=uid)[0])

        def call_error(self, member, signature="", *args, uid=None):
                """dbus-send, expecting an error: (name, message)."""
                argv = ["dbus-send", "--system", "--print-reply", "--dest=" + BUS_NAME, MANAGER_PATH,
                        MANAGER + "." + member]
                argv += ["%s:%s" % (DBUS_SEND_TYPES[t], a) for t, a in zip(signature, args)]
                p = self.run_tool(argv, uid=uid, timeout=10)
                self.assertNotEqual(p.returncode, 0, "%s%r answered: %s" % (member, args, p.out))
                err = p.err.strip()
                self.assertTrue(err.startswith("Error "), err)
                name, _, text = err[len("Error "):].partition(": ")
                return name, text

        def ctl(self, *args, uid=None, input=None):
                return self.run_tool([PIPELITCTL] + list(args), uid=uid, input=input)

        def ctl_ok(self, *args, **kw):
                p = self.ctl(*args, **kw)
                self.assertEqual(p.returncode, 0, "pipelitctl %s: %s%s" % (" ".join(args), p.out, p.err))
                return p

        def login_status(self, username, password):
                return self.anon().post("/auth/token/", {"username": username, "password": password}).status

        def rest_detail(self, path, body):
                """The messages of the REST API's 422 for body, as D-Bus joins them."""
                r = self.admin.post(path, body)
                self.assertEqual(r.status, 422, r)
                return "; ".join("%s: %s" % (e["loc"][-1], e["msg"]) for e in r.body["detail"])

        def assert_healthy(self):
                self.assertHealthy()
                self.assertEqual(self.call("ListWorkflows")[0][:1], "{")


@unittest.skipUnless(have_bus_tools(), "needs dbus-daemon, busctl, dbus-send and pipelitctl")
class DbusAdminTest(BusCase):
        daemon_config = "[Log]\nLevel=info\n"

        # users -------------------------------------------------------------------------

        def test_create_user_then_log_in(self):
                name = unique("bus-user")
                user_id = self.call("CreateUser", "sss", name, PASSWORD, "")[0]
                self.assertIsInstance(user_id, int)
                r = self.admin.get("/users/%d/" % user_id)
                self.assertEqual(r.status, 200, r)
                self.assertEqual((r.body["username"], r.body["role"]), (name, "normal"))
                self.assertEqual(self.login_status(name, PASSWORD), 200)
                # Stored hashed, as the REST API stores it.
                self.assertEqual(self.login_status(name, PASSWORD + "x"), 401)

                admin_name = unique("bus-admin")
                admin_id = self.call("CreateUser", "sss", admin_name, PASSWORD, "admin")[0]
                self.assertEqual(self.admin.get("/users/%d/" % admin_id).body["role"], "admin")

                listed = self.call_json("ListUsers")
                self.assertEqual(listed["total"], len(listed["users"]))
                by_name = {u["username"]: u for u in listed["users"]}
                self.assertEqual(by_name[name]["id"], user_id)
                self.assertEqual(by_name[admin_name]["role"], "admin")
                self.assertNotIn("password", json.dumps(listed))

        def test_create_user_refuses_what_the_rest_api_refuses(self):
                taken = unique("taken")
                self.call("CreateUser", "sss", taken, PASSWORD, "")
                for args, body in (
                                ((unique("u"), "short", ""), {"password": "short"}),
                                (("bad name!", PASSWORD, ""), {"username": "bad name!"}),
                                ((unique("u"), PASSWORD, "boss"), {"role": "boss"}),
                                (("", "x", "nobody"), {"username": "", "password": "x", "role": "nobody"})):
                        rest = dict({"username": args[0], "password": args[1]}, **body)
                        name, text = self.call_error("CreateUser", "sss", *args)
                        self.assertEqual(name, "org.pipelit.Pipelit1.Error.InvalidArgument", (args, text))
                        self.assertEqual(text, self.rest_detail("/users/", rest), args)
                name, text = self.call_error("CreateUser", "sss", taken, PASSWORD, "")
                self.assertEqual((name, text), ("org.pipelit.Pipelit1.Error.UserExists", "Username already exists."))
                self.assert_healthy()

        def test_set_password(self):
                name = unique("bus-pw")
                self.call("CreateUser", "sss", name, PASSWORD, "")
                session = self.daemon.login(name, PASSWORD)
                self.call("SetPassword", "ss", name, "another-password-2")
                self.assertEqual(self.login_status(name, "another-password-2"), 200)
                self.assertEqual(self.login_status(name, PASSWORD), 401)
                # Whoever logged in with the old password is logged out.
                self.assertEqual(self.anon().get("/auth/me/", token=session).status, 401)

                name_, text = self.call_error("SetPassword", "ss", name, "short")
                self.assertEqual(name_, "org.pipelit.Pipelit1.Error.InvalidArgument")
                self.assertEqual(text, "password: String should have at least 8 characters")
                name_, text = self.call_error("SetPassword", "ss", "no-such-user", PASSWORD)
                self.assertEqual((name_, text), ("org.pipelit.Pipelit1.Error.NoSuchUser",
                                                 "User 'no-such-user' not found."))
                # A deleted user is no one.
                user_id = self.call("CreateUser", "sss", unique("gone"), PASSWORD, "")[0]
                gone = self.admin.get("/users/%d/" % user_id).body["username"]
                self.assertEqual(self.admin.delete("/users/%d/" % user_id).status, 204)
                name_, _ = self.call_error("SetPassword", "ss", gone, PASSWORD)
                self.assertEqual(name_, "org.pipelit.Pipelit1.Error.NoSuchUser")
                self.assert_healthy()

        def test_many_password_calls_at_once_all_get_answers(self):
                """The hashing runs off the I/O thread: calls in flight together all finish,
                and the daemon answers other requests meanwhile."""
                names = [unique("many") for _ in range(6)]
                procs = [subprocess.Popen(["busctl", "--system", "call", BUS_NAME, MANAGER_PATH, MANAGER,
                                           "CreateUser", "sss", n, PASSWORD, ""], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, env=dict(os.environ, **self.bus.env()))
                         for n in names]
                self.assertEqual(self.anon().get("/health").status, 200)
                for p in procs:
                        out, err = p.communicate(timeout=30)
                        self.assertEqual(p.returncode, 0, err)
                        self.assertRegex(out.decode(), r"^t \d+")
                listed = {u["username"] for u in self.call_json("ListUsers")["users"]}
                self.assertTrue(set(names) <= listed)

        # keys ----------------------------------------------------------------------------

        def test_key_created_over_dbus_authenticates_until_revoked(self):
                name = unique("keyed")
                self.call("CreateUser", "sss", name, PASSWORD, "")
                key = self.call_json("CreateApiKey", "ssu", name, "ci", 0)
                self.assertEqual(key["name"], "ci")
                self.assertIsNone(key["expires_at"])
                self.assertTrue(key["key"].startswith(key["prefix"]))
                client = self.daemon.client(key["key"])
                r = client.get("/auth/me/")
                self.assertEqual((r.status, r.body.get("username")), (200, name), r)

                listed = self.call_json("ListApiKeys", "s", name)
                self.assertEqual([k["id"] for k in listed], [key["id"]])
                self.assertTrue(listed[0]["is_active"])
                self.assertNotIn("key", listed[0])
                self.assertNotIn(key["key"], json.dumps(listed))

                self.call("RevokeApiKey", "st", name, key["id"])
                self.assertEqual(client.get("/auth/me/").status, 401)
                self.assertFalse(self.call_json("ListApiKeys", "s", name)[0]["is_active"])

        def test_key_expiry(self):
                name = unique("expiring")
                self.call("CreateUser", "sss", name, PASSWORD, "")
                key = self.call_json("CreateApiKey", "ssu", name, "month", 30)
                expires = calendar.timegm(time.strptime(key["expires_at"][:19], "%Y-%m-%dT%H:%M:%S"))
                self.assertAlmostEqual(expires - time.time(), 30 * 86400, delta=300)
                self.assertEqual(self.daemon.client(key["key"]).get("/auth/me/").status, 200)

        def test_key_methods_refuse_bad_input(self):
                name = unique("keybad")
                self.call("CreateUser", "sss", name, PASSWORD, "")
                for key_name in ("", "   ", "x" * 101):
                        error, text = self.call_error("CreateApiKey", "ssu", name, key_name, 0)
                        self.assertEqual(error, "org.pipelit.Pipelit1.Error.InvalidArgument", key_name)
                        self.assertEqual(text, self.rest_detail("/users/me/keys/", {"name": key_name}))
                error, text = self.call_error("CreateApiKey", "ssu", name, "ci", 36501)
                self.assertEqual(error, "org.pipelit.Pipelit1.Error.InvalidArgument")
                self.assertIn("expires_in_days", text)
                for member, signature, args in (("CreateApiKey", "ssu", ("no-one", "ci", 0)),
                                                ("ListApiKeys", "s", ("no-one",)),
                                                ("RevokeApiKey", "st", ("no-one", 1))):
                        error, text = self.call_error(member, signature, *args)
                        self.assertEqual((error, text), ("org.pipelit.Pipelit1.Error.NoSuchUser",
                                                         "User 'no-one' not found."), member)
                # Another user's key is not this user's to revoke.
                other = unique("other")
                self.call("CreateUser", "sss", other, PASSWORD, "")
                key = self.call_json("CreateApiKey", "ssu", other, "theirs", 0)
                for key_id in (key["id"], 0, 2 ** 63, 2 ** 64 - 1):
                        error, _ = self.call_error("RevokeApiKey", "st", name, key_id)
                        self.assertEqual(error, "org.pipelit.Pipelit1.Error.NoSuchApiKey", key_id)
                self.assertEqual(self.daemon.client(key["key"]).get("/auth/me/").status, 200)
                # Wrong argument types never reach the methods.
                error, _ = self.call_error("RevokeApiKey", "ss", name, "1")
                self.assertEqual(error, "org.freedesktop.DBus.Error.InvalidArgs")
                self.assert_healthy()

        # reload ----------------------------------------------------------------------------

        def write_config(self, text):
                with open(self.daemon.config_path, "w") as f:
                        f.write(text)

        def wait_for_log(self, text, count=1, timeout=10):
                deadline = time.monotonic() + timeout
                while self.daemon.log().count(text) < count and time.monotonic() < deadline:
                        time.sleep(0.05)
                self.assertGreaterEqual(self.daemon.log().count(text), count, self.daemon.log()[-3000:])

        def test_reload_applies_the_log_level(self):
                # A request's line is logged once it is answered: asserting that lines are
                # missing waits for a later line (each reload logs one).
                debug_line = "GET /health → 200"
                try:
                        self.anon().get("/health")
                        self.write_config("[Log]\nLevel=debug\n[Engine]\nWorkers=2\n")
                        report = self.call_json("Reload")
                        self.assertEqual(report, {"changed": ["Log.Level"], "restart_needed": ["Engine.Workers"]})
                        self.assertEqual(self.daemon.log().count(debug_line), 0, "debug lines at Level=info")
                        self.assertIn("Engine.Workers keep their values until a restart", self.daemon.log())
                        self.anon().get("/health")
                        self.wait_for_log(debug_line, 1)

                        # A broken file changes nothing and says where it is broken.
                        self.write_config("[Log]\nLevel=info\nBogus=1\n")
                        error, text = self.call_error("Reload")
                        self.assertEqual(error, "org.pipelit.Pipelit1.Error.BadConfiguration")
                        self.assertIn("pipelitd.conf:3", text)
                        self.assertIn("Bogus", text)
                        self.anon().get("/health")
                        self.wait_for_log(debug_line, 2)

                        # SIGHUP does the same.
                        self.write_config("[Log]\nLevel=info\n")
                        self.daemon.signal(signal.SIGHUP)
                        self.wait_for_log("Reloaded the configuration: changed Log.Level", 2)
                        self.anon().get("/health")
                        p = self.ctl_ok("reload")
                        self.assertIn("Nothing changed", p.out)
                        self.wait_for_log("Reloaded the configuration: changed nothing.")
                        self.assertEqual(self.daemon.log().count(debug_line), 2)

                        self.assertEqual(json.loads(self.ctl_ok("--json", "reload").out),
                                         {"changed": [], "restart_needed": []})
                        self.write_config("[Log]\nLevel=info\nBogus=1\n")
                        p = self.ctl("reload")
                        self.assertEqual(p.returncode, 1, p.out + p.err)
                        self.assertIn("Bogus", p.err)
                finally:
                        self.write_config(self.daemon_config)
                self.assert_healthy()

        # pipelitctl --------------------------------------------------------------------------

        def test_pipelitctl_users(self):
                name = unique("ctl-user")
                p = self.ctl_ok("user", "create", name, "--role=admin", input=(PASSWORD + "\n").encode())
                user_id = int(p.out.strip())
                self.assertEqual(self.admin.get("/users/%d/" % user_id).body["role"], "admin")
                self.assertEqual(self.login_status(name, PASSWORD), 200)

                p = self.ctl("user", "create", name, input=(PASSWORD + "\n").encode())
                self.assertEqual(p.returncode, 1, p.out + p.err)
                self.assertIn("Username already exists.", p.err)
                p = self.ctl("user", "create", unique("u"), input=b"short\n")
                self.assertEqual(p.returncode, 1)
                self.assertIn("at least 8 characters", p.err)
                p = self.ctl("user", "create", unique("u"), input=b"")
                self.assertEqual(p.returncode, 1)
                self.assertIn("no password", p.err)

                self.ctl_ok("user", "passwd", name, input=b"changed-password-3\n")
                self.assertEqual(self.login_status(name, "changed-password-3"), 200)
                p = self.ctl("user", "passwd", "no-such-user", input=b"changed-password-3\n")
                self.assertEqual(p.returncode, 1)
                self.assertIn("not found", p.err)

                listed = json.loads(self.ctl_ok("--json", "user", "list").out)
                self.assertIn(name, [u["username"] for u in listed["users"]])
                p = self.ctl_ok("user", "list")
                self.assertRegex(p.out, r"(?m)^%d +%s +admin " % (user_id, re.escape(name)))

                for args, message in ((("user",), "missing argument"),
                                      (("user", "frob"), "unknown subcommand"),
                                      (("user", "create"), "missing argument"),
                                      (("user", "list", "x"), "too many arguments"),
                                      (("user", "create", "a", "b", "c"), "too many arguments")):
                        p = self.ctl(*args)
                        self.assertEqual(p.returncode, 2, args)
                        self.assertIn(message, p.err, args)

        def test_pipelitctl_keys(self):
                name = unique("ctl-key")
                self.call("CreateUser", "sss", name, PASSWORD, "")
                key = self.ctl_ok("key", "create", name, "deploy", "--expires-in-days=7").out.strip()
                self.assertEqual(self.daemon.client(key).get("/auth/me/").body["username"], name)
                listed = json.loads(self.ctl_ok("--json", "key", "list", name).out)
                self.assertEqual([k["name"] for k in listed], ["deploy"])
                self.assertIsNotNone(listed[0]["expires_at"])
                p = self.ctl_ok("key", "list", name)
                self.assertIn("deploy", p.out)
                self.assertNotIn(key, p.out)
                created = json.loads(self.ctl_ok("--json", "key", "create", name, "second").out)
                self.assertIn("key", created)

                self.ctl_ok("key", "revoke", name, str(listed[0]["id"]))
                self.assertEqual(self.daemon.client(key).get("/auth/me/").status, 401)
                p = self.ctl("key", "revoke", name, "999999")
                self.assertEqual(p.returncode, 1)
                self.assertIn("no API key 999999", p.err)
                p = self.ctl("key", "create", "no-such-user", "x")
                self.assertEqual(p.returncode, 1)
                self.assertIn("not found", p.err)

                for args in (("key", "revoke", name, "abc"), ("key", "revoke", name, "-1"),
                             ("key", "frob", name), ("key", "create", name),
                             ("key", "create", name, "x", "--expires-in-days=-1"),
                             ("key", "create", name, "x", "--expires-in-days=36501")):
                        p = self.ctl(*args)
                        self.assertEqual(p.returncode, 2, (args, p.err))

        def test_help_lists_the_new_commands(self):
                p = self.ctl_ok("--help")
                for word in ("user create", "user passwd", "key create", "key revoke", "reload", "--role",
                             "--expires-in-days"):
                        self.assertIn(word, p.out)

        # who may ---------------------------------------------------------------------------------

        @unittest.skipUnless(os.geteuid() == 0, "needs root to call as another user")
        def test_unprivileged_callers_get_access_denied(self):
                name = unique("guarded")
                self.call("CreateUser", "sss", name, PASSWORD, "")
                for member, signature, args in (("CreateUser", "sss", (unique("x"), PASSWORD, "")),
                                                ("SetPassword", "ss", (name, "hijacked-pass-1")),
                                                ("ListUsers", "", ()),
                                                ("CreateApiKey", "ssu", (name, "mine", 0)),
                                                ("ListApiKeys", "s", (name,)),
                                                ("RevokeApiKey", "st", (name, 1)),
                                                ("Reload", "", ())):
                        error, text = self.call_error(member, signature, *args, uid=NOBODY)
                        self.assertEqual(error, "org.freedesktop.DBus.Error.AccessDenied", member)
                        # The daemon said no, not the bus policy.
                        self.assertIn("Only root and the daemon's own user may call %s" % member, text)
                self.assertEqual(self.call_json("ListApiKeys", "s", name), [])
                self.assertEqual(self.login_status(name, PASSWORD), 200)
                p = self.ctl("user", "list", uid=NOBODY)
                self.assertEqual(p.returncode, 1)
                self.assertIn("Only root", p.err)
                p = self.ctl("reload", uid=NOBODY)
                self.assertEqual(p.returncode, 1)
                self.assert_healthy()


@unittest.skipUnless(have_bus_tools() and os.path.exists(FAKE_POLKIT) and os.geteuid() == 0,
                     "needs dbus-daemon, busctl, dbus-send, pipelitctl, tests/fake-polkit/fake-polkit and root")
class PolkitTest(BusCase):
        """polkit grants manage-keys, wants authentication for reload, refuses the rest."""

        bus_config = POLKIT_POLICY
        polkit = None

        @classmethod
        def setUpClass(cls):
                super().setUpClass()
                cls.polkit_log = cls.daemon.write_file("polkit.log", "")
                cls.polkit = subprocess.Popen(
                        [FAKE_POLKIT, "--grant=" + ACTION + "manage-keys", "--challenge=" + ACTION + "reload",
                         cls.polkit_log], stdout=subprocess.PIPE, env=dict(os.environ, **cls.bus.env()))
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

        def questions(self):
                with open(self.polkit_log) as f:
                        return [line.split() for line in f]

        def test_polkit_decides_for_other_users(self):
                name = unique("pk")
                self.call("CreateUser", "sss", name, PASSWORD, "")
                self.assertEqual(self.questions(), [], "root's calls need no polkit")

                # Granted: nobody manages keys.
                key = self.call_json("CreateApiKey", "ssu", name, "granted", 0, uid=NOBODY)
                self.assertEqual(self.daemon.client(key["key"]).get("/auth/me/").status, 200)
                self.assertEqual(len(self.call_json("ListApiKeys", "s", name, uid=NOBODY)), 1)
                # Refused: users are not theirs to manage.
                error, text = self.call_error("ListUsers", uid=NOBODY)
                self.assertEqual(error, "org.freedesktop.DBus.Error.AccessDenied")
                self.assertIn("polkit does not allow " + ACTION + "manage-users", text)
                error, _ = self.call_error("SetPassword", "ss", name, "hijacked-pass-1", uid=NOBODY)
                self.assertEqual(error, "org.freedesktop.DBus.Error.AccessDenied")
                self.assertEqual(self.login_status(name, PASSWORD), 200)
                # Wants a password: said so when the caller cannot give one.
                error, _ = self.call_error("Reload", uid=NOBODY)
                self.assertEqual(error, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")
                p = self.ctl("user", "list", uid=NOBODY)
                self.assertEqual(p.returncode, 1)
                self.assertIn("polkit does not allow", p.err)
                self.assertEqual(self.ctl("--json", "key", "list", name, uid=NOBODY).returncode, 0)

                asked = self.questions()
                self.assertEqual([q[0] for q in asked],
                                 [ACTION + a for a in ("manage-keys", "manage-keys", "manage-users", "manage-users",
                                                       "reload", "manage-users", "manage-keys")])
                for action, kind, subject, flags in asked:
                        self.assertEqual(kind, "system-bus-name")
                        self.assertRegex(subject, r"^:\d+\.\d+$")
                # busctl allows interactive authorization, dbus-send does not: polkit hears it.
                self.assertEqual(asked[0][3], "1")
                self.assertEqual(asked[2][3], "0")
                self.assert_healthy()

        def test_terminal_lets_polkit_ask_unless_told_not_to(self):
                # pipelitctl with a terminal lets polkit ask for a password (and runs pkttyagent
                # for it, when installed); --no-ask-password does not.
                before = len(self.questions())
                master, slave = os.openpty()
                try:
                        for args in (("reload",), ("--no-ask-password", "reload")):
                                p = subprocess.run(as_user([PIPELITCTL] + list(args), NOBODY), stdin=slave,
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                                                   env=dict(os.environ, **self.bus.env()))
                                self.assertEqual(p.returncode, 1, p.stderr)
                finally:
                        os.close(master)
                        os.close(slave)
                asked = self.questions()[before:]
                self.assertEqual([(q[0], q[3]) for q in asked], [(ACTION + "reload", "1"), (ACTION + "reload", "0")])
                self.assert_healthy()

        def test_run_and_import_ask_polkit_too(self):
                error, text = self.call_error("Run", "ss", "no-such-flow", "", uid=NOBODY)
                self.assertEqual(error, "org.freedesktop.DBus.Error.AccessDenied")
                self.assertIn(ACTION + "run", text)
                error, text = self.call_error("ImportWorkflow", "s", "{}", uid=NOBODY)
                self.assertEqual(error, "org.freedesktop.DBus.Error.AccessDenied")
                self.assertIn(ACTION + "manage-workflows", text)
                self.assert_healthy()


@unittest.skipUnless(have_bus_tools(), "needs dbus-daemon, busctl, dbus-send and pipelitctl")
class ActivationFileTest(unittest.TestCase):
        def test_the_bus_can_activate_the_name(self):
                """A system bus reading our folder lists the name as activatable (it refuses a
                file whose name and Name= differ, or without User=)."""
                bus = PrivateBus("<servicedir>%s</servicedir>" % os.path.join(SRCDIR, "dbus"))
                try:
                        p = subprocess.run(["busctl", "--system", "--activatable", "list", "--no-legend"],
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           env=dict(os.environ, **bus.env()), timeout=10)
                        self.assertEqual(p.returncode, 0, p.stderr)
                        self.assertIn(BUS_NAME, p.stdout.decode().split())
                finally:
                        bus.stop()
                with open(os.path.join(SRCDIR, "dbus", BUS_NAME + ".service")) as f:
                        self.assertIn("SystemdService=pipelitd.service", f.read().split())


if __name__ == "__main__":
        unittest.main()
