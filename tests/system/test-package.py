#!/usr/bin/python3
"""The .deb, installed and used as an administrator would: builds it from "make dist"'s
tarball with dpkg-buildpackage, boots Debian with systemd as PID 1 in a container (the root
file system of test-sandbox-systemd.py, same cache), installs the package there with apt and
checks that installing creates the user, enables the sockets and starts nothing; that the
first request through the socket starts pipelitd; that pipelitctl over the system bus
creates an admin, imports a workflow and follows its run; that a failed execution's lines
are found by journalctl PIPELIT_EXECUTION=; that a workflow set to a dedicated worker runs
in pipelit-worker@SLUG.service, started by pipelitd with the workflow's limits (systemctl
show) and stopped when the workflow no longer asks for it; that an unprivileged user can read but gets
AccessDenied on privileged methods; that "systemctl restart" under a stream of requests
loses none; that the daemon exits when idle and comes back on the next request; that
"systemctl stop" is clean; how systemd-analyze security rates the service and the worker unit; that an
upgrade restarts a running daemon while the socket keeps listening; and that removing the
package stops everything.

Needs root, debootstrap, systemd-nspawn, nsenter and the Debian build dependencies
(debian/control; tools/install-deps installs them); exits 77 (skipped) without them, in a
sanitizer build (the package is built and tried once, by the plain build) and when the
container does not boot. It takes about a minute on 2 cores, half of it building the
package; PIPELIT_DEB=/path/to/pipelit_VERSION_ARCH.deb tries that package instead.

Environment: as test-sandbox-systemd.py (PIPELIT_BUILDDIR, PIPELIT_SRCDIR,
PIPELIT_SYSTEM_CACHE, PIPELIT_SYSTEM_MIRROR), and PIPELIT_DEB."""

import glob
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
# The container's root file system, its cache and how to boot it: test-sandbox-systemd.py's.
_spec = importlib.util.spec_from_file_location("sandbox_system_test", os.path.join(HERE, "test-sandbox-systemd.py"))
base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(base)
skip, log = base.skip, base.log

SHARED = "/opt/pipelit-test"
PORT = 8080
PASSWORD = "admin-password-1"
UNITS = ("pipelitd.socket", "pipelitd.service", "pipelit-code.socket")
# What the package must install besides the programs.
INSTALLED = ["/usr/sbin/pipelitd", "/usr/bin/pipelitctl", "/usr/libexec/pipelit/pipelit-jq",
             "/usr/libexec/pipelit/pipelit-code-runner", "/usr/libexec/pipelit/pipelit-worker",
             "/etc/pipelit/pipelitd.conf",
             "/usr/lib/sysusers.d/pipelit.conf",
             "/usr/share/dbus-1/system.d/org.pipelit.Pipelit1.conf",
             "/usr/share/dbus-1/system-services/org.pipelit.Pipelit1.service",
             "/usr/share/dbus-1/interfaces/org.pipelit.Pipelit1.xml",
             "/usr/share/polkit-1/actions/org.pipelit.Pipelit1.policy",
             "/usr/share/polkit-1/rules.d/org.pipelit.Pipelit1.rules",
             "/usr/lib/systemd/catalog/pipelit.catalog",
             "/usr/share/man/man8/pipelitd.8.gz", "/usr/share/man/man1/pipelitctl.1.gz",
             "/usr/share/man/man5/pipelitd.conf.5.gz",
             "/usr/share/bash-completion/completions/pipelitctl",
             "/usr/share/pipelit/prices.json", "/usr/share/locale/de/LC_MESSAGES/pipelit.mo"]
# systemd-analyze security's rating the issue asks for at most ("OK").
MAX_EXPOSURE = 2.0


def workflow(name, program):
        """An export document: a manual trigger and one transform node "up" running program."""
        return {"format": "pipelit-workflow", "version": 1, "workflow": {"name": name},
                "nodes": [{"node_id": "trig", "component_type": "trigger_manual"},
                          {"node_id": "up", "component_type": "transform",
                           "config": {"extra_config": {"program": program}}}],
                "edges": [{"source_node_id": "trig", "target_node_id": "up"}]}


def clean_env():
        """Our environment without the make check's own make variables (its MAKEFLAGS would
        reach the package's build)."""
        env = dict(os.environ)
        for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "TESTS"):
                env.pop(var, None)
        return env


def tree_version():
        with open(os.path.join(base.BUILDDIR, "config.h")) as f:
                m = re.search(r'#define PACKAGE_VERSION "([^"]+)"', f.read())
        return m.group(1)


def build_deb(workdir):
        """make dist, then dpkg-buildpackage in the unpacked tarball; returns the .deb."""
        env = clean_env()
        version = tree_version()
        started = time.monotonic()
        r = subprocess.run(["make", "-s", "-C", base.BUILDDIR, "dist"], env=env, capture_output=True, text=True)
        if r.returncode != 0:
                raise AssertionError(f"make dist failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
        tarball = os.path.join(base.BUILDDIR, f"pipelit-{version}.tar.xz")
        with tarfile.open(tarball) as t:
                t.extractall(workdir)
        os.unlink(tarball)
        tree = os.path.join(workdir, f"pipelit-{version}")
        log(f"make dist in {time.monotonic() - started:.0f} s")

        r = subprocess.run(["dpkg-checkbuilddeps"], cwd=tree, capture_output=True, text=True)
        if r.returncode != 0:
                skip(f"the package's build dependencies are missing (tools/install-deps installs them): {r.stderr.strip()}")
        r = subprocess.run(["dpkg-parsechangelog", "-S", "Version"], cwd=tree, capture_output=True, text=True,
                           check=True)
        if r.stdout.strip() != version:
                raise AssertionError(f"debian/changelog says {r.stdout.strip()}, configure.ac {version}: "
                                     "add a changelog entry (dch -v)")

        started = time.monotonic()
        # The unit tests ran in this make check already; the debug symbols are not needed here.
        env["DEB_BUILD_OPTIONS"] = "nocheck noautodbgsym parallel=2"
        with open(os.path.join(workdir, "build.log"), "w") as out:
                r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
        if r.returncode != 0:
                with open(os.path.join(workdir, "build.log")) as f:
                        raise AssertionError(f"dpkg-buildpackage failed:\n{f.read()[-5000:]}")
        debs = glob.glob(os.path.join(workdir, f"pipelit_{version}_*.deb"))
        assert len(debs) == 1, debs
        log(f"dpkg-buildpackage in {time.monotonic() - started:.0f} s")
        return debs[0]


class Container(base.Container):
        """A booted container with the .deb and our helpers in SHARED."""

        def __init__(self, rootfs, files):
                self.bindir = tempfile.mkdtemp(prefix="pipelit-package-")
                os.chmod(self.bindir, 0o755)
                for f in files:
                        shutil.copy(f, self.bindir)
                self.log = open(os.path.join(self.bindir, "console.log"), "w+")
                self.nspawn = subprocess.Popen(
                        ["systemd-nspawn", "-D", rootfs, "--boot", "--register=no", "--keep-unit",
                         "--console=pipe", "--volatile=overlay", "--private-network",
                         f"--bind-ro={self.bindir}:{SHARED}"],
                        stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
                self.pid = None

        def write(self, name, text):
                with open(os.path.join(self.bindir, name), "w") as f:
                        f.write(text)
                return f"{SHARED}/{name}"


container = None
workdir = None
deb = None


def setUpModule():
        global container, workdir, deb

        if os.geteuid() != 0:
                skip("needs root (systemd-nspawn)")
        for tool in ("debootstrap", "systemd-nspawn", "nsenter", "dpkg-buildpackage"):
                if not shutil.which(tool):
                        skip(f"{tool} is not installed (tools/install-deps installs it)")
        try:
                with open(os.path.join(base.BUILDDIR, "Makefile")) as f:
                        sanitizers = re.search(r"^SANITIZER_CFLAGS = .*-fsanitize", f.read(), re.M)
        except OSError:
                skip(f"{base.BUILDDIR} is not a configured build directory")
        if sanitizers:
                skip("a sanitizer build: the package is built and tried by the plain build")

        started = time.monotonic()
        workdir = tempfile.mkdtemp(prefix="pipelit-package-build-")
        deb = os.environ.get("PIPELIT_DEB") or build_deb(workdir)
        rootfs = base.build_rootfs()
        container = Container(rootfs, [deb, os.path.join(HERE, "package-client.py")])
        if not container.boot():
                console = container.console()
                container.stop()
                skip(f"the container did not boot:\n{console}")
        container.write("shout.json", json.dumps(workflow("Shout", ".trigger.text | ascii_upcase")))
        container.write("boom.json", json.dumps(workflow("Boom", 'error("boom")')))
        # Recommends (bubblewrap) would need a mirror; what pipelit needs is in the root file
        # system, and its other recommendations (dbus, polkitd) are there too.
        container.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                       f"{SHARED}/{os.path.basename(deb)}"], timeout=120)
        log(f"package built and installed in a booted container in {time.monotonic() - started:.0f} s")


def tearDownModule():
        if container:
                # What the units said, for when a step failed (the build directory's
                # tests/system/test-package.journal).
                r = container.run(["journalctl", "--no-pager", "-b", "-u", "pipelitd.socket", "-u", "pipelitd.service",
                                   "-u", "pipelit-code.socket", "-u", "dbus.service", "-u", "polkit.service"],
                                  check=False)
                os.makedirs(os.path.join(base.BUILDDIR, "tests", "system"), exist_ok=True)
                with open(os.path.join(base.BUILDDIR, "tests", "system", "test-package.journal"), "w") as f:
                        f.write(r.stdout)
                container.stop()
        if workdir:
                shutil.rmtree(workdir, ignore_errors=True)


class PackageTest(unittest.TestCase):
        """In order: each step starts where the one before left the system."""

        def setUp(self):
                # The steps start the daemon more often than anyone would (six times in a few
                # seconds), past systemd's start rate limit (5 in 10 s), which would fail the
                # socket with it.
                container.run(["systemctl", "reset-failed", "pipelitd.service", "pipelitd.socket"], check=False)

        def run_in(self, *argv, **kwargs):
                return container.run(list(argv), **kwargs)

        def ctl(self, *args, user=None, input=None):
                argv = ["pipelitctl"] + list(args)
                if user:
                        argv = ["setpriv", "--reuid", user, "--regid", "nogroup", "--clear-groups"] + argv
                return container.run(argv, check=False, input=input)

        def client(self, *args, input=None):
                r = container.run(["python3", f"{SHARED}/package-client.py"] + list(args), check=False,
                                  input=input)
                self.assertEqual(r.returncode, 0, r.stderr)
                status, _, body = r.stdout.partition("\n")
                return int(status), body

        def state(self, unit):
                return container.run(["systemctl", "is-active", unit], check=False).stdout.strip()

        def show(self, unit, *properties):
                r = container.run(["systemctl", "show", unit] + [f"-p{p}" for p in properties])
                return dict(line.split("=", 1) for line in r.stdout.splitlines())

        def main_pid(self):
                return int(self.show("pipelitd.service", "MainPID")["MainPID"])

        def wait_for(self, unit, state, timeout=20):
                deadline = time.monotonic() + timeout
                while self.state(unit) != state and time.monotonic() < deadline:
                        time.sleep(0.1)
                self.assertEqual(self.state(unit), state, f"{unit} did not become {state}")

        def journal(self, *args):
                return container.run(["journalctl", "--no-pager", "-q"] + list(args), check=False).stdout

        def test_00_lintian_finds_no_errors(self):
                if not shutil.which("lintian"):
                        self.skipTest("lintian is not installed (tools/install-deps installs it)")
                r = subprocess.run(["lintian", "--fail-on", "error", deb], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertNotRegex(r.stdout, r"(?m)^E: ")

        def test_01_install_creates_the_user_enables_the_sockets_and_starts_nothing(self):
                passwd = self.run_in("getent", "passwd", "pipelit").stdout.strip().split(":")
                self.assertLess(int(passwd[2]), 1000, passwd)          # a system user
                self.assertEqual(passwd[5], "/var/lib/pipelit")
                self.run_in("getent", "group", "pipelit-workspace")
                for path in INSTALLED:
                        self.assertEqual(self.run_in("test", "-f", path, check=False).returncode, 0, f"{path} missing")

                for unit in ("pipelitd.socket", "pipelit-code.socket"):
                        self.assertEqual(self.run_in("systemctl", "is-enabled", unit, check=False).stdout.strip(),
                                         "enabled", unit)
                self.assertNotEqual(self.run_in("systemctl", "is-enabled", "pipelitd.service",
                                                check=False).stdout.strip(), "enabled")
                for unit in UNITS:
                        self.assertEqual(self.state(unit), "inactive", unit)

                # polkit knows the actions, the journal the messages (systemd's trigger ran).
                self.run_in("pkaction", "--action-id", "org.pipelit.Pipelit1.manage-users")
                catalog = self.run_in("journalctl", "--list-catalog").stdout
                with open(os.path.join(base.SRCDIR, "src", "common", "message-ids.h")) as f:
                        ids = re.findall(r'#define MESSAGE_ID_\w+ "([0-9a-f]{32})"', f.read())
                self.assertTrue(ids)
                for message_id in ids:
                        self.assertIn(message_id, catalog)

        def test_02_first_request_through_the_socket_starts_the_daemon(self):
                self.run_in("systemctl", "start", "pipelitd.socket")
                self.assertEqual(self.state("pipelitd.service"), "inactive")
                status, body = self.client("get", "/health")
                self.assertEqual(status, 200, body)
                health = json.loads(body)
                self.assertEqual((health["status"], health["version"]), ("ok", tree_version()), health)
                self.assertEqual(self.state("pipelitd.service"), "active")
                # As user pipelit, with the code socket it wants.
                uid = self.run_in("id", "-u", "pipelit").stdout.strip()
                status = self.run_in("cat", f"/proc/{self.main_pid()}/status").stdout
                self.assertRegex(status, rf"\nUid:\t{uid}\t")
                self.assertEqual(self.state("pipelit-code.socket"), "active")

        def test_03_pipelitctl_creates_an_admin_imports_and_follows_a_run(self):
                r = self.ctl("user", "create", "admin", "--role", "admin", input=PASSWORD + "\n")
                self.assertEqual(r.returncode, 0, r.stderr)
                status, body = self.client("login", "admin", input=PASSWORD + "\n")
                self.assertEqual(status, 200, body)
                self.assertIn("key", json.loads(body))

                r = self.ctl("import", f"{SHARED}/shout.json")
                self.assertEqual(r.returncode, 0, r.stderr)
                slug = r.stdout.strip()
                r = self.ctl("run", slug, "--text", "hello", "--follow")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                lines = r.stdout.splitlines()
                self.assertIn("up running", lines)
                self.assertIn("up success", lines)
                self.assertLess(lines.index("up running"), lines.index("up success"))
                self.assertIn('"HELLO"', r.stdout)

        def test_04_journal_finds_a_failed_execution_by_its_id(self):
                r = self.ctl("import", f"{SHARED}/boom.json")
                self.assertEqual(r.returncode, 0, r.stderr)
                r = self.ctl("run", r.stdout.strip(), "--follow")
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("up failed", r.stdout)
                execution = re.search(r"Execution ([0-9a-f-]{36}) ", r.stderr).group(1)

                entries = [json.loads(line) for line in
                           self.journal("-o", "json", f"PIPELIT_EXECUTION={execution}").splitlines()]
                self.assertTrue(entries, f"no journal entry with PIPELIT_EXECUTION={execution}")
                failed = [e for e in entries if "failed" in e["MESSAGE"]]
                self.assertTrue(failed, entries)
                self.assertEqual(failed[0]["_SYSTEMD_UNIT"], "pipelitd.service")
                self.assertEqual(failed[0]["PIPELIT_WORKFLOW"], "boom")
                self.assertIn("boom", failed[0]["MESSAGE"])
                # -x explains it from the package's catalog.
                self.assertIn("Defined-By: pipelit", self.journal("-x", f"PIPELIT_EXECUTION={execution}"))

        def test_04a_dedicated_worker_runs_in_its_unit_with_its_limits(self):
                r = self.ctl("import", f"{SHARED}/shout.json")
                self.assertEqual(r.returncode, 0, r.stderr)
                slug = r.stdout.strip()
                unit = f"pipelit-worker@{slug}.service"
                status, body = self.client("login", "admin", input=PASSWORD + "\n")
                self.assertEqual(status, 200, body)
                key = json.loads(body)["key"]
                worker = {"dedicated": True, "memory_max": "256M", "cpu_quota": "50%", "tasks_max": 64}
                status, body = self.client("api", "PATCH", f"/api/v1/workflows/{slug}/", key,
                                           input=json.dumps({"settings": {"worker": worker}}))
                self.assertEqual(status, 200, body)

                # pipelitd (user pipelit) starts the unit through systemd's D-Bus API, with
                # the workflow's limits, and the run happens there.
                r = self.ctl("run", slug, "--text", "worker", "--follow")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.journal("-u", unit, "-u", "pipelitd"))
                self.assertIn('"WORKER"', r.stdout)
                execution = re.search(r"Execution ([0-9a-f-]{36}) ", r.stderr).group(1)
                self.assertEqual(self.state(unit), "active")
                shown = self.show(unit, "MemoryMax", "CPUQuotaPerSecUSec", "TasksMax", "Slice", "User", "MainPID")
                log(f"systemctl show {unit}: {shown}")
                self.assertEqual((shown["MemoryMax"], shown["CPUQuotaPerSecUSec"], shown["TasksMax"]),
                                 (str(256 << 20), "500ms", "64"))
                self.assertEqual((shown["Slice"], shown["User"]), ("pipelit.slice", "pipelit"))
                deadline = time.monotonic() + 10
                while True:
                        entries = [json.loads(line) for line in
                                   self.journal("-o", "json", f"_SYSTEMD_UNIT={unit}",
                                                f"PIPELIT_EXECUTION={execution}").splitlines()]
                        if entries or time.monotonic() > deadline:
                                break
                        time.sleep(0.2)
                self.assertTrue(entries, f"no line of {unit} for execution {execution}")
                self.assertIn(f"Running execution {execution}", entries[0]["MESSAGE"])
                self.assertEqual(entries[0]["_PID"], shown["MainPID"])

                r = self.ctl("--json", "worker", "list")
                self.assertEqual(r.returncode, 0, r.stderr)
                listed = {w["slug"]: w for w in json.loads(r.stdout)["workers"]}
                self.assertEqual((listed[slug]["unit"], listed[slug]["state"], listed[slug]["pid"]),
                                 (unit, "running", int(shown["MainPID"])))

                # No longer dedicated: pipelitd stops the unit.
                status, body = self.client("api", "PATCH", f"/api/v1/workflows/{slug}/", key,
                                           input=json.dumps({"settings": {"worker": None}}))
                self.assertEqual(status, 200, body)
                self.wait_for(unit, "inactive")
                self.assertEqual(self.show(unit, "Result")["Result"], "success")

        def test_05_unprivileged_users_read_but_get_access_denied(self):
                r = self.ctl("status", user="nobody")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("running", r.stdout)
                r = self.ctl("user", "create", "intruder", user="nobody", input="intruder-password\n")
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("polkit does not allow", r.stderr)
                r = self.run_in("setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
                                "dbus-send", "--system", "--print-reply", "--dest=org.pipelit.Pipelit1",
                                "/org/pipelit/Pipelit1", "org.pipelit.Pipelit1.Manager.Reload", check=False)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("org.freedesktop.DBus.Error.AccessDenied", r.stderr)
                r = self.ctl("--json", "user", "list")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual([u["username"] for u in json.loads(r.stdout)["users"]], ["admin"])

        def test_06_restart_under_requests_loses_none(self):
                stop_file = "/run/pipelit-test-load.stop"
                load = subprocess.Popen(["nsenter", "-t", str(container.pid), "-a", "python3",
                                         f"{SHARED}/package-client.py", "load", stop_file],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                        pids = [self.main_pid()]
                        for _ in range(3):
                                time.sleep(0.7)
                                self.run_in("systemctl", "restart", "pipelitd.service")
                                pids.append(self.main_pid())
                        time.sleep(0.7)
                finally:
                        self.run_in("touch", stop_file)
                        out, err = load.communicate(timeout=60)
                        self.run_in("rm", "-f", stop_file)
                self.assertEqual(len(set(pids)), 4, pids)
                result = json.loads(out or "{}")
                log(f"requests during three restarts: {result}")
                self.assertEqual(result.get("failed"), 0, result or err)
                self.assertGreater(result["ok"], 100, result)

        def test_07_exits_when_idle_and_comes_back_on_the_next_request(self):
                self.run_in("sh", "-c", "mkdir -p /etc/pipelit/pipelitd.conf.d && "
                            "printf '[Server]\\nIdleTimeoutSec=1\\n' > /etc/pipelit/pipelitd.conf.d/idle.conf")
                try:
                        self.run_in("systemctl", "restart", "pipelitd.service")
                        self.wait_for("pipelitd.service", "inactive")
                        ended = self.show("pipelitd.service", "Result", "ExecMainCode", "ExecMainStatus")
                        self.assertEqual(ended, {"Result": "success", "ExecMainCode": "1", "ExecMainStatus": "0"})
                        self.assertEqual(self.state("pipelitd.socket"), "active")
                        self.assertIn("Idle for 1 s", self.journal("-u", "pipelitd.service", "-n", "5"))

                        status, body = self.client("get", "/health")
                        self.assertEqual(status, 200, body)
                        self.assertEqual(self.state("pipelitd.service"), "active")
                        self.wait_for("pipelitd.service", "inactive")
                finally:
                        # Leaves the folder empty, as an administrator removing a drop-in would.
                        self.run_in("rm", "-f", "/etc/pipelit/pipelitd.conf.d/idle.conf")
                status, body = self.client("get", "/health")
                self.assertEqual(status, 200, body)

        def test_08_stop_is_clean(self):
                self.assertEqual(self.state("pipelitd.service"), "active")
                pid = self.main_pid()
                self.run_in("systemctl", "stop", "pipelitd.service")
                ended = self.show("pipelitd.service", "ActiveState", "Result", "ExecMainPID", "ExecMainCode",
                                  "ExecMainStatus")
                self.assertEqual(ended, {"ActiveState": "inactive", "Result": "success", "ExecMainPID": str(pid),
                                         "ExecMainCode": "1", "ExecMainStatus": "0"})
                journal = self.journal("-u", "pipelitd.service", "-b")
                self.assertNotRegex(journal, r"code=(killed|dumped)|core dumped")
                # The socket stays and starts it again.
                status, body = self.client("get", "/health")
                self.assertEqual(status, 200, body)

        def test_09_security_exposure(self):
                for unit in ("pipelitd.service", "pipelit-worker@example.service"):
                        r = self.run_in("systemd-analyze", "security", "--no-pager", unit)
                        exposure = float(re.search(r"Overall exposure level for %s: ([0-9.]+)" % re.escape(unit),
                                                   r.stdout).group(1))
                        log(f"systemd-analyze security {unit}: {exposure}")
                        self.assertLessEqual(exposure, MAX_EXPOSURE, r.stdout)

        def test_10_upgrade_restarts_a_running_daemon_and_keeps_the_socket(self):
                listening_since = self.show("pipelitd.socket", "ActiveEnterTimestampMonotonic")
                for _ in range(2):
                        status, body = self.client("get", "/health")
                        self.assertEqual(status, 200, body)
                        pid = self.main_pid()
                        self.run_in("apt-get", "install", "-y", "-q", "--no-install-recommends", "--reinstall",
                                    f"{SHARED}/{os.path.basename(deb)}", timeout=120)
                        self.wait_for("pipelitd.service", "active")
                        self.assertNotEqual(self.main_pid(), pid)
                # The sockets listened all along.
                self.assertEqual(self.show("pipelitd.socket", "ActiveEnterTimestampMonotonic"), listening_since)
                for unit in ("pipelitd.socket", "pipelit-code.socket"):
                        self.assertEqual(self.state(unit), "active", unit)
                # Still admin's database: the user survived.
                status, body = self.client("login", "admin", input=PASSWORD + "\n")
                self.assertEqual(status, 200, body)

        def test_11_remove_stops_everything_and_purge_disables(self):
                self.assertEqual(self.state("pipelitd.service"), "active")
                self.run_in("apt-get", "remove", "-y", "-q", "pipelit", timeout=120)
                for unit in UNITS:
                        self.assertEqual(self.state(unit), "inactive", unit)
                self.assertNotEqual(self.run_in("test", "-e", "/usr/sbin/pipelitd", check=False).returncode, 0)
                # The configuration and the data stay until purge; the data even then.
                self.run_in("test", "-f", "/etc/pipelit/pipelitd.conf")
                self.run_in("apt-get", "purge", "-y", "-q", "pipelit", timeout=120)
                self.assertNotEqual(self.run_in("test", "-e", "/etc/systemd/system/sockets.target.wants/pipelitd.socket",
                                                check=False).returncode, 0)
                self.assertNotEqual(self.run_in("test", "-e", "/etc/pipelit/pipelitd.conf", check=False).returncode, 0)
                self.run_in("test", "-f", "/var/lib/pipelit/pipelit.db")


if __name__ == "__main__":
        unittest.main(verbosity=2)
