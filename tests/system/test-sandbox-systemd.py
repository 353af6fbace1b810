#!/usr/bin/python3
"""The sandbox's systemd backends for real: boots Debian with systemd as PID 1 in a
container (debootstrap + systemd-nspawn), installs the code socket's units
(pipelit-code.socket, pipelit-code@.service, pipelit.slice, pipelit-code-runner and its
empty root) as the package does, and runs tests/system/sandbox-driver in it, which runs
commands through sandbox_run(): through the code socket as user pipelit, and in transient
units as root. It proves that a snippet runs in an instance of its own as a dynamic user
without network, with nothing of the host but a read-only /usr, that its output and exit
code come back, that a timeout, a stop and too much output kill it and leave no instance
behind, how the backend is chosen, and that user pipelit gets there without any polkit
rule (and cannot start transient units). Then it installs the built pipelitd with its units,
user and policies in there, and runs workflows with a code node through the HTTP API of the
socket-activated service, running as user pipelit.

Needs root, debootstrap, systemd-nspawn and nsenter, and a Debian mirror the first time:
the root file system is built once and kept in $PIPELIT_SYSTEM_CACHE (by default
tests/system/cache in the build directory); each run boots a throw-away overlay of it.
Exits 77 (skipped) with a message when something it needs is missing or the container does
not boot.

Environment: PIPELIT_BUILDDIR (where sandbox-driver, pipelit-code-runner and pipelitd were
built; default: the current directory), PIPELIT_SRCDIR (the source tree; default: two
levels above this file), PIPELIT_SYSTEM_CACHE, PIPELIT_SYSTEM_MIRROR (default: the host's
apt source, else deb.debian.org)."""

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

SKIP = 77
SUITE = "bookworm"
PACKAGES = ["systemd", "systemd-sysv", "dbus", "libpam-systemd", "polkitd", "python3",
            # What pipelitd links against, for running the daemon itself in there.
            "libjansson4", "libjq1", "libcurl4", "libpq5", "libsodium23", "libsqlite3-0",
            "libwebsockets17", "libhiredis0.14"]
DRIVER_DIR = "/opt/pipelit-test"
DRIVER = DRIVER_DIR + "/sandbox-driver"
UNIT_RE = re.compile(r"pipelit-code-[0-9a-f]{32}\.service")
# systemd names an Accept=yes socket's instances after the connection: number, peer pid and uid.
INSTANCE_RE = re.compile(r"pipelit-code@[0-9]+-[0-9]+-[0-9]+\.service")
# Where the package puts the runner and its root (Debian: pkglibexecdir, pkglibdir).
PKGLIBEXECDIR = "/usr/libexec/pipelit"
PKGLIBDIR = "/usr/lib/pipelit"
CODE_ROOT = PKGLIBDIR + "/code-root"
UNIT_DIR = "/usr/lib/systemd/system"
# pipelitd's StateDirectory= and the workspaces in it, as pipelit-code@.service binds them.
STATE_DIR = "/var/lib/pipelit"
WORKSPACES = STATE_DIR + "/workspaces"
# systemd-analyze security's exposure of pipelit-code@.service before workspaces came (systemd 252).
CODE_UNIT_EXPOSURE = 0.3

SRCDIR = os.environ.get("PIPELIT_SRCDIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.environ.get("PIPELIT_BUILDDIR") or os.getcwd()
CACHE = os.environ.get("PIPELIT_SYSTEM_CACHE") or os.path.join(BUILDDIR, "tests", "system", "cache")


def skip(why):
        print(f"SKIP: {why}", flush=True)
        sys.exit(SKIP)


def log(message):
        print(f"# {message}", flush=True)


def mirror():
        if os.environ.get("PIPELIT_SYSTEM_MIRROR"):
                return os.environ["PIPELIT_SYSTEM_MIRROR"]
        try:
                with open("/etc/apt/sources.list.d/debian.sources") as f:
                        for line in f:
                                if line.startswith("URIs:") and "security" not in line:
                                        return line.split()[1]
        except OSError:
                pass
        return "http://deb.debian.org/debian"


def build_rootfs():
        """The container's root file system, built once: debootstrap takes about a minute.
        Both system tests may ask at the same time (make -j2 check): the second waits."""
        os.makedirs(CACHE, exist_ok=True)
        with open(os.path.join(CACHE, "rootfs.lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                return build_rootfs_locked()


def build_rootfs_locked():
        rootfs = os.path.join(CACHE, f"rootfs-{SUITE}")
        stamp = os.path.join(rootfs, ".pipelit-packages")
        wanted = " ".join(PACKAGES) + "\n"
        try:
                with open(stamp) as f:
                        if f.read() == wanted:
                                return rootfs
        except OSError:
                pass

        building = rootfs + ".building"
        shutil.rmtree(building, ignore_errors=True)
        started = time.monotonic()
        log(f"building the container's root file system in {rootfs} (debootstrap, once)")
        with open(os.path.join(CACHE, "debootstrap.log"), "w") as out:
                r = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
                                    SUITE, building, mirror()], stdout=out, stderr=subprocess.STDOUT)
        if r.returncode != 0:
                shutil.rmtree(building, ignore_errors=True)
                skip(f"debootstrap failed (see {CACHE}/debootstrap.log)")
        with open(os.path.join(building, ".pipelit-packages"), "w") as f:
                f.write(wanted)
        shutil.rmtree(rootfs, ignore_errors=True)
        os.rename(building, rootfs)
        log(f"root file system ready in {time.monotonic() - started:.0f} s")
        return rootfs


class Container:
        """A booted container over a throw-away overlay of the root file system."""

        def __init__(self, rootfs, driver):
                self.bindir = tempfile.mkdtemp(prefix="pipelit-system-")
                # User pipelit runs the driver from there too.
                os.chmod(self.bindir, 0o755)
                shutil.copy(driver, os.path.join(self.bindir, "sandbox-driver"))
                shutil.copy(os.path.join(BUILDDIR, "pipelit-code-runner"), self.bindir)
                for path in ("data/pipelitd.conf", "systemd/pipelitd.service.in",
                             "systemd/pipelitd.socket", "systemd/sysusers.d/pipelit.conf",
                             "systemd/pipelit-code.socket", "systemd/pipelit-code@.service.in",
                             "systemd/pipelit.slice",
                             "dbus/org.pipelit.Pipelit1.conf", "tests/system/run-code-workflow.py",
                             "tests/system/run-agent-workflow.py", "tests/fake-llm/fake_llm.py"):
                        shutil.copy(os.path.join(SRCDIR, path), self.bindir)
                daemon = os.path.join(BUILDDIR, "pipelitd")
                if os.access(daemon, os.X_OK):
                        shutil.copy(daemon, self.bindir)
                # The runner's empty root, as "make install" makes it.
                r = subprocess.run(["make", "-s", "-C", BUILDDIR, "install-code-root",
                                    "DESTDIR=" + os.path.join(self.bindir, "stage"), "pkglibdir=" + PKGLIBDIR],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                        raise RuntimeError(f"make install-code-root failed: {r.stdout}{r.stderr}")
                self.log = open(os.path.join(self.bindir, "console.log"), "w+")
                self.nspawn = subprocess.Popen(
                        ["systemd-nspawn", "-D", rootfs, "--boot", "--register=no", "--keep-unit",
                         "--console=pipe", "--volatile=overlay", "--private-network",
                         f"--bind-ro={self.bindir}:{DRIVER_DIR}"],
                        stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
                self.pid = None

        def boot(self, timeout=60):
                started = time.monotonic()
                while time.monotonic() - started < timeout:
                        if self.nspawn.poll() is not None:
                                return False
                        if self.pid is None:
                                self.pid = self.find_init()
                        if self.pid is not None:
                                r = self.run(["systemctl", "is-system-running"], check=False)
                                if r.stdout.strip() in ("running", "degraded"):
                                        return True
                        time.sleep(0.2)
                return False

        def find_init(self):
                try:
                        with open(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children") as f:
                                children = f.read().split()
                except OSError:
                        return None
                return int(children[0]) if children else None

        def run(self, argv, check=True, input=None, timeout=60):
                r = subprocess.run(["nsenter", "-t", str(self.pid), "-a"] + argv, input=input,
                                   capture_output=True, text=True, timeout=timeout)
                if check and r.returncode != 0:
                        raise AssertionError(f"{argv} failed ({r.returncode}): {r.stdout}{r.stderr}")
                return r

        def console(self):
                self.log.seek(0)
                return self.log.read()[-4000:]

        def stop(self):
                if self.nspawn.poll() is None:
                        # nspawn shuts the container down on SIGTERM.
                        self.nspawn.send_signal(signal.SIGTERM)
                        try:
                                self.nspawn.wait(timeout=20)
                        except subprocess.TimeoutExpired:
                                self.nspawn.kill()
                                self.nspawn.wait()
                self.log.close()
                shutil.rmtree(self.bindir, ignore_errors=True)
                # What nspawn leaves in /run (not a tmpfs on every machine), when no other
                # container uses it.
                for d in ("propagate", "locks", ""):
                        try:
                                os.rmdir(os.path.join("/run/systemd/nspawn", d))
                        except OSError:
                                pass


container = None


def setUpModule():
        global container

        if os.geteuid() != 0:
                skip("needs root (systemd-nspawn)")
        for tool in ("debootstrap", "systemd-nspawn", "nsenter"):
                if not shutil.which(tool):
                        skip(f"{tool} is not installed (tools/install-deps installs it)")
        driver = os.path.join(BUILDDIR, "tests", "system", "sandbox-driver")
        if not os.access(driver, os.X_OK):
                skip(f"{driver} is not built (make check builds it)")
        if not os.access(os.path.join(BUILDDIR, "pipelit-code-runner"), os.X_OK):
                skip(f"{BUILDDIR}/pipelit-code-runner is not built")

        rootfs = build_rootfs()
        started = time.monotonic()
        container = Container(rootfs, driver)
        if not container.boot():
                console = container.console()
                container.stop()
                skip(f"the container did not boot:\n{console}")
        log(f"container booted in {time.monotonic() - started:.1f} s")
        # The daemon's user, as its package makes it, and the code socket's units. No polkit
        # rule: user pipelit gets nothing from polkit.
        container.run(["systemd-sysusers", f"{DRIVER_DIR}/pipelit.conf"])
        install = f"""set -e
                install -D -m 0755 {DRIVER_DIR}/pipelit-code-runner {PKGLIBEXECDIR}/pipelit-code-runner
                mkdir -p {PKGLIBDIR}
                cp -a {DRIVER_DIR}/stage{CODE_ROOT} {CODE_ROOT}
                sed -e 's|@pkglibexecdir@|{PKGLIBEXECDIR}|g' -e 's|@pkglibdir@|{PKGLIBDIR}|g' \
                        {DRIVER_DIR}/pipelit-code@.service.in > {UNIT_DIR}/pipelit-code@.service
                cp {DRIVER_DIR}/pipelit-code.socket {DRIVER_DIR}/pipelit.slice {UNIT_DIR}/
                systemctl daemon-reload
        """
        container.run(["sh", "-c", install])


def tearDownModule():
        if container:
                container.stop()


class Outcome:
        def __init__(self, r):
                head, _, rest = r.stdout.partition("\n")
                if r.returncode != 0 or not head.startswith("end="):
                        raise AssertionError(f"sandbox-driver failed ({r.returncode}): {r.stdout}{r.stderr}")
                fields = dict(item.split("=", 1) for item in head.split())
                self.end = fields["end"]
                self.status = int(fields["status"])
                self.stdout_size = int(fields["stdout"])
                self.msec = int(fields["msec"])
                self.stdout = rest
                self.stderr = r.stderr

        def __repr__(self):
                return f"end={self.end} status={self.status} stdout={self.stdout!r} stderr={self.stderr!r}"


class SandboxTestCase(unittest.TestCase):
        def sandbox(self, *command, options=(), backend="systemd", user=None):
                argv = [DRIVER]
                if backend:
                        argv += ["--backend", backend]
                argv += list(options) + ["--"] + list(command)
                if user:
                        argv = ["setpriv", "--reuid", user, "--regid", user, "--clear-groups"] + argv
                return Outcome(container.run(argv, check=False))

        def sh(self, script, **kwargs):
                return self.sandbox("/bin/sh", "-c", script, **kwargs)

        def units(self):
                r = container.run(["systemctl", "list-units", "--all", "--plain", "--no-legend",
                                   "pipelit-code-*", "pipelit-code@*"])
                return r.stdout.strip()

        def pids_with(self, marker):
                script = ("import os\n"
                          "for p in os.listdir('/proc'):\n"
                          "    if p.isdigit() and p != str(os.getpid()):\n"
                          "        try:\n"
                          "            if sys_marker in open(f'/proc/{p}/cmdline', 'rb').read():\n"
                          "                print(p)\n"
                          "        except OSError:\n"
                          "            pass\n")
                r = container.run(["python3", "-c", f"sys_marker = {marker.encode()!r}\n" + script])
                return r.stdout.split()

        def processes_with(self, marker):
                return len(self.pids_with(marker))

        def assertNothingLeft(self, marker=None):
                # The unit or instance ends as sandbox_run() returns; systemd collects it at once.
                for _ in range(30):
                        if not self.units() and (marker is None or self.processes_with(marker) == 0):
                                break
                        time.sleep(0.1)
                self.assertEqual(self.units(), "")
                if marker:
                        self.assertEqual(self.processes_with(marker), 0)

        def start_code_socket(self):
                container.run(["systemctl", "start", "pipelit-code.socket"])

        def stop_code_socket(self):
                container.run(["systemctl", "stop", "pipelit-code.socket"])


class CodeSocketTest(SandboxTestCase):
        """The code socket as pipelitd (user pipelit) uses it, with no polkit rule at all."""

        @classmethod
        def setUpClass(cls):
                # A sanitizer build's runner needs libasan, which the container lacks.
                r = container.run(["ldd", f"{DRIVER_DIR}/pipelit-code-runner"])
                missing = [line.split()[0] for line in r.stdout.splitlines() if "not found" in line]
                if missing:
                        raise unittest.SkipTest("the container lacks libraries pipelit-code-runner needs "
                                                f"(a sanitizer build?): {' '.join(missing)}")
                container.run(["systemctl", "start", "pipelit-code.socket"])
                r = container.run(["find", CODE_ROOT])
                cls.shipped_root = sorted(r.stdout.split())
                # pipelitd's state directory, as its unit makes it.
                container.run(["install", "-d", "-o", "pipelit", "-g", "pipelit", "-m", "0750", STATE_DIR])

        def code(self, *command, options=()):
                return self.sandbox(*command, options=options, backend="socket", user="pipelit")

        def code_sh(self, script, options=()):
                return self.code("/bin/sh", "-c", script, options=options)

        def in_workspace(self, script, name, options=()):
                return self.code_sh(script, options=["--workspace-root", WORKSPACES, "--workspace", name] + list(options))

        def gate_grants(self, name):
                """The users let through a workspace's gate now (its ACL's named users)."""
                r = container.run(["python3", "-c",
                                   "import os, struct, sys\n"
                                   "try:\n"
                                   "    a = os.getxattr(sys.argv[1], 'system.posix_acl_access')\n"
                                   "except OSError:\n"
                                   "    a = b'\\x02\\0\\0\\0'\n"
                                   "print(sorted(i for t, p, i in struct.iter_unpack('<HHI', a[4:]) if t == 2))\n",
                                   f"{WORKSPACES}/{name}"])
                return r.stdout.strip()

        def test_workspace_keeps_its_files_between_runs(self):
                first = self.in_workspace("id -u; pwd; echo $HOME; echo kept > notes; mkdir -p d; "
                                          "echo deeper > d/f; chmod +x notes", "1/agent")
                self.assertEqual((first.end, first.status), ("exited", 0), first)
                uid, pwd, home = first.stdout.splitlines()
                self.assertTrue(61184 <= int(uid) <= 65519, first)
                self.assertEqual((pwd, home), ("/run/workspaces/1/agent/home",) * 2)

                # Another run, another dynamic user: it finds them, and may change them.
                second = self.in_workspace("cat notes d/f; echo more >> notes; rm d/f; rmdir d; ls", "1/agent")
                self.assertEqual((second.end, second.status), ("exited", 0), second)
                self.assertEqual(second.stdout, "kept\ndeeper\nnotes\n")

                # On the host, in pipelitd's state directory; and the gate closed behind them.
                r = container.run(["cat", f"{WORKSPACES}/1/agent/home/notes"])
                self.assertEqual(r.stdout, "kept\nmore\n")
                self.assertEqual(self.gate_grants("1/agent"), "[]")
                r = container.run(["stat", "-c", "%U %a", WORKSPACES, f"{WORKSPACES}/1", f"{WORKSPACES}/1/agent"])
                self.assertEqual(r.stdout.split("\n")[:3], ["pipelit 711", "pipelit 711", "pipelit 700"])
                # pipelitd (user pipelit, not in the group) may remove what the runs made.
                r = container.run(["setpriv", "--reuid", "pipelit", "--regid", "pipelit", "--clear-groups",
                                   "rm", "-r", f"{WORKSPACES}/1/agent/home/notes"], check=False)
                self.assertEqual(r.returncode, 0, r)
                self.assertNothingLeft()

        def test_other_workspaces_are_out_of_reach(self):
                o = self.in_workspace("echo secret > secret", "1/other")
                self.assertEqual((o.end, o.status), ("exited", 0), o)
                probe = ("cat /run/workspaces/1/other/home/secret; ls /run/workspaces; ls /run/workspaces/1; "
                         "ls /run/workspaces/1/other")
                # Not from another workspace, nor from a run without one, knowing its name...
                o = self.in_workspace(probe, "1/agent")
                self.assertEqual(o.stdout, "", o)
                self.assertEqual(o.stderr.count("Permission denied"), 4, o)
                o = self.code_sh(probe)
                self.assertEqual(o.stdout, "", o)
                self.assertEqual(o.stderr.count("Permission denied"), 4, o)
                # ... not even while a run of that workspace holds its gate open.
                holder = subprocess.Popen(["nsenter", "-t", str(container.pid), "-a", "setpriv", "--reuid", "pipelit",
                                           "--regid", "pipelit", "--clear-groups", DRIVER, "--backend", "socket",
                                           "--workspace-root", WORKSPACES, "--workspace", "1/other", "--timeout", "30",
                                           "--", "/bin/sh", "-c", "x=43; exec sleep ${x}71.5"],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                        for _ in range(50):
                                if self.gate_grants("1/other") != "[]":
                                        break
                                time.sleep(0.1)
                        self.assertNotEqual(self.gate_grants("1/other"), "[]")
                        o = self.in_workspace("cat /run/workspaces/1/other/home/secret", "1/agent")
                        self.assertIn("Permission denied", o.stderr)
                        self.assertEqual(o.stdout, "")
                finally:
                        for pid in self.pids_with("sleep\0" "4371.5"):
                                container.run(["sh", "-c", f"kill {pid}"], check=False)
                        holder.communicate(timeout=30)
                self.assertEqual(self.gate_grants("1/other"), "[]")
                self.assertNothingLeft("4371.5")

        def test_no_network_for_a_workspace_either(self):
                o = self.in_workspace("echo ran", "1/agent", options=["--allow-network"])
                self.assertEqual(o.end, "setup-failed", o)
                self.assertIn("has no network", o.stderr)
                self.assertEqual(o.stdout, "")

        def test_unit_security_stays_as_it_was(self):
                # systemd-analyze's exposure of the sandbox's unit: the workspaces' bind and
                # group cost nothing.
                r = container.run(["systemd-analyze", "security", "--no-pager", "--offline=true",
                                   f"{UNIT_DIR}/pipelit-code@.service"], check=False)
                m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
                self.assertTrue(m, r.stdout + r.stderr)
                self.assertLessEqual(float(m.group(1)), CODE_UNIT_EXPOSURE, r.stdout)

        def test_confinement(self):
                o = self.code_sh("id -u; "
                                 "ls -A / | tr '\\n' ' '; echo; "
                                 "ls -A /etc /var/tmp | wc -w; "
                                 "ls /root 2>/dev/null || echo no-root; "
                                 "touch /usr/x 2>/dev/null && echo usr-writable || echo usr-readonly; "
                                 "test -e /opt/pipelit-test/sandbox-driver && echo host-opt || echo no-opt; "
                                 "test -e /sys/class && echo host-sys || echo no-sys; "
                                 "echo data > /tmp/file && cat /tmp/file; "
                                 "grep CapEff /proc/self/status; "
                                 "sed -n '3,$s/:.*//p' /proc/self/net/dev | tr -d ' '; "
                                 "tail -n 1 /proc/self/cgroup")
                self.assertEqual((o.end, o.status), ("exited", 0), o)
                lines = o.stdout.splitlines()
                uid = int(lines[0])
                # A dynamic user: not root, not pipelit, none of the system's users either.
                self.assertTrue(61184 <= uid <= 65519, o)
                # An empty root: /usr, the links into it, the API file systems, and empty
                # mount points. Nothing else of the host's.
                self.assertEqual(lines[1].split(), ["bin", "dev", "etc", "lib", "lib64", "proc", "root", "run",
                                                    "sbin", "sys", "tmp", "usr", "var"], o)
                # /etc and /var/tmp empty (two headers from ls), /root closed.
                self.assertEqual(lines[2:9], ["2", "no-root", "usr-readonly", "no-opt", "no-sys", "data",
                                              "CapEff:\t0000000000000000"], o)
                self.assertEqual(lines[9], "lo", o)     # PrivateNetwork=: a loopback device only
                self.assertRegex(lines[10], r"^0::/pipelit\.slice/" + INSTANCE_RE.pattern + "$")
                self.assertNothingLeft()

        def test_sees_no_other_process(self):
                # Not the host's, not the runner's (same user, but it keeps itself out of reach).
                o = self.code("/usr/bin/python3", "-c",
                              "import os\n"
                              "print([int(p) for p in os.listdir('/proc') if p.isdigit()] == [os.getpid()])\n")
                self.assertEqual((o.end, o.stdout), ("exited", "True\n"), o)

        def test_no_network(self):
                o = self.code("/usr/bin/python3", "-c",
                              "import socket\n"
                              "for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK):\n"
                              "    try:\n"
                              "        socket.socket(family)\n"
                              "        print('allowed')\n"
                              "    except OSError as e:\n"
                              "        print('blocked', e.errno)\n")
                self.assertEqual((o.end, o.status), ("exited", 0), o)
                self.assertEqual(o.stdout.splitlines(), ["blocked 97"] * 3, o)      # EAFNOSUPPORT

        def test_output_input_and_exit_status(self):
                # 512 KiB in, through the connection; "$" reaches the program as it is.
                o = self.code_sh("wc -c; printf '%s\\n' '$$ ${HOME} $HOME'; echo oops >&2; exit 7",
                                 options=["--input-size", "524288"])
                self.assertEqual((o.end, o.status), ("exited", 7), o)
                self.assertEqual(o.stdout, "524288\n$$ ${HOME} $HOME\n")
                self.assertEqual(o.stderr, "oops\n")
                self.assertNothingLeft()

        def test_python_works_in_there(self):
                # MemoryDenyWriteExecute=, the system call filter, no /etc: python as the code
                # node runs it, with a ctypes callback and a child process.
                o = self.code("/usr/bin/python3", "-I", "-c",
                              "import ctypes, json, subprocess, tempfile\n"
                              "f = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)\n"
                              "with tempfile.TemporaryFile() as t:\n"
                              "    t.write(b'x')\n"
                              "out = subprocess.run(['/bin/echo', 'child'], capture_output=True, text=True).stdout\n"
                              "print(json.dumps([f(41), out.strip()]))\n")
                self.assertEqual((o.end, o.status), ("exited", 0), o)
                self.assertEqual(o.stdout, '[42, "child"]\n')

        def test_killed_by_a_signal(self):
                o = self.code_sh("kill -TERM $$")
                self.assertEqual((o.end, o.status), ("signaled", signal.SIGTERM), o)

        def test_timeout_kills_everything(self):
                o = self.code_sh("sleep 4341.5 & sleep 4341.5; echo never", options=["--timeout", "1"])
                self.assertEqual(o.end, "timed-out", o)
                self.assertEqual(o.stdout, "")
                self.assertTrue(900 <= o.msec < 4000, o)
                self.assertNothingLeft("4341.5")

        def test_stop_kills_everything(self):
                # Also what left the snippet's process group: the instance's cgroup goes whole.
                o = self.code_sh("setsid sleep 4342.5 & sleep 4342.5 & sleep 4342.5", options=["--stop-after", "1"])
                self.assertEqual(o.end, "stopped", o)
                self.assertTrue(900 <= o.msec < 4000, o)
                self.assertNothingLeft("4342.5")

        def test_what_escaped_goes_with_the_instance(self):
                o = self.code_sh("setsid sleep 4343.5 & echo done")
                self.assertEqual((o.end, o.status), ("exited", 0), o)
                self.assertEqual(o.stdout, "done\n")
                self.assertNothingLeft("4343.5")

        def test_output_limit(self):
                o = self.code("/usr/bin/yes", options=["--max-stdout", "10000"])
                self.assertEqual(o.end, "output-limit", o)
                self.assertEqual(o.stdout_size, 10000)
                self.assertEqual(o.stdout, "y\n" * 5000)
                self.assertNothingLeft()

        def test_memory_limit(self):
                o = self.code("/usr/bin/python3", "-c", "x = bytearray(2 * 1024 ** 3)",
                              options=["--max-memory", str(512 * 1024 ** 2)])
                self.assertEqual((o.end, o.status), ("exited", 1), o)
                self.assertIn("MemoryError", o.stderr)

        def test_program_that_cannot_start(self):
                o = self.code("/nonexistent/program")
                self.assertEqual(o.end, "setup-failed", o)
                self.assertIn("cannot run /nonexistent/program", o.stderr)
                self.assertNothingLeft()

        def test_instance_stopped_by_the_service_manager(self):
                driver = subprocess.Popen(["nsenter", "-t", str(container.pid), "-a", "setpriv", "--reuid", "pipelit",
                                           "--regid", "pipelit", "--clear-groups", DRIVER, "--backend", "socket",
                                           # "4344.5" only in the snippet's own command line
                                           "--", "/bin/sh", "-c", "x=43; exec sleep ${x}44.5"],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                        # Once the snippet runs (before, the runner would just die unheard).
                        for _ in range(50):
                                if INSTANCE_RE.search(self.units()) and self.processes_with("4344.5") > 0:
                                        break
                                time.sleep(0.1)
                        container.run(["systemctl", "stop", "pipelit-code@*.service"])
                        out, err = driver.communicate(timeout=30)
                finally:
                        driver.kill()
                self.assertTrue(out.startswith("end=signaled status=9 "), out + err)
                self.assertIn("the service manager stopped the sandbox", err)
                self.assertNothingLeft("4344.5")

        def test_concurrent_snippets_are_strangers(self):
                # Each instance has a user of its own: one snippet cannot signal another.
                first = subprocess.Popen(["nsenter", "-t", str(container.pid), "-a", "setpriv", "--reuid", "pipelit",
                                          "--regid", "pipelit", "--clear-groups", DRIVER, "--backend", "socket",
                                          "--timeout", "30", "--", "/bin/sh", "-c", "id -u; x=43; exec sleep ${x}47.5"],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                        pids = []
                        for _ in range(50):
                                pids = self.pids_with("sleep\0" "4347.5")
                                if pids:
                                        break
                                time.sleep(0.1)
                        self.assertEqual(len(pids), 1)
                        pid = pids[0]
                        o = self.code_sh(f"id -u; kill -KILL {pid} 2>/dev/null && echo killed || echo refused")
                        self.assertEqual(o.end, "exited", o)
                        second_uid, answer = o.stdout.split()
                        self.assertEqual(answer, "refused", o)
                        uid = container.run(["stat", "-c", "%u", f"/proc/{pid}"]).stdout.strip()
                        self.assertNotEqual(uid, second_uid)
                        self.assertTrue(61184 <= int(second_uid) <= 65519, o)
                finally:
                        for pid in self.pids_with("sleep\0" "4347.5"):
                                container.run(["sh", "-c", f"kill {pid}"], check=False)
                        out, err = first.communicate(timeout=30)
                self.assertTrue(out.startswith("end=signaled status=15 "), out + err)
                self.assertNothingLeft("4347.5")

        def test_only_pipelit_may_connect(self):
                r = container.run(["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
                                   DRIVER, "--backend", "socket", "--", "/bin/true"], check=False)
                self.assertEqual(r.returncode, 1, r)
                self.assertIn("Permission denied", r.stderr)
                r = container.run(["stat", "-c", "%U:%G %a", "/run/pipelit/code.socket"])
                self.assertEqual(r.stdout.strip(), "pipelit:pipelit 600")

        def test_root_stays_as_shipped(self):
                # systemd mounts into the root, and must find every mount point there: it never
                # creates one in the package's tree.
                self.code("/bin/true")
                r = container.run(["find", CODE_ROOT])
                self.assertEqual(sorted(r.stdout.split()), self.shipped_root)

        def test_units_verify(self):
                r = container.run(["systemd-analyze", "verify"] +
                                  [f"{UNIT_DIR}/{u}" for u in ("pipelit-code.socket", "pipelit-code@.service",
                                                               "pipelit.slice")], check=False)
                self.assertEqual((r.returncode, r.stderr), (0, ""))

        def test_pipelit_cannot_start_transient_units(self):
                # Why the socket: without a polkit rule, user pipelit may not start units, and a
                # rule that let it would let it start them as root.
                o = self.sandbox("/bin/true", backend="systemd", user="pipelit")
                self.assertEqual(o.end, "setup-failed", o)
                self.assertIn("systemd refused the sandbox unit", o.stderr)
                self.assertNothingLeft()


class TransientUnitTest(SandboxTestCase):
        """The transient unit backend, which only root uses."""

        @classmethod
        def setUpClass(cls):
                # The state directory of a pipelitd that runs as root.
                container.run(["install", "-d", "-m", "0750", STATE_DIR])

        def in_workspace(self, script, name, options=()):
                return self.sh(script, options=["--workspace-root", WORKSPACES, "--workspace", name] + list(options))

        def test_workspace_keeps_its_files_between_runs(self):
                first = self.in_workspace("id -u; pwd; echo $HOME; echo kept > notes; ls /run/workspaces/2", "2/agent")
                self.assertEqual((first.end, first.status), ("exited", 0), first)
                uid, pwd, home, listed = first.stdout.splitlines()
                self.assertTrue(61184 <= int(uid) <= 65519, first)
                self.assertEqual((pwd, home, listed), ("/run/workspaces/2/agent/home",) * 2 + ("agent",))
                second = self.in_workspace("cat notes; echo more >> notes; touch /usr/x 2>&1 | grep -c Read-only",
                                           "2/agent")
                self.assertEqual((second.end, second.status), ("exited", 0), second)
                self.assertEqual(second.stdout, "kept\n1\n")
                r = container.run(["cat", f"{WORKSPACES}/2/agent/home/notes"])
                self.assertEqual(r.stdout, "kept\nmore\n")
                self.assertNothingLeft()

        def test_network_when_allowed(self):
                script = ("python3 -c \"import socket\n"
                          "try:\n"
                          "    socket.socket(socket.AF_INET).close(); print('inet')\n"
                          "except OSError:\n"
                          "    print('no-inet')\"; sed -n '3,$s/:.*//p' /proc/net/dev | tr -d ' ' | sort | tr '\\n' ' '")
                closed = self.in_workspace(script, "2/agent")
                opened = self.in_workspace(script, "2/agent", options=["--allow-network"])
                self.assertEqual((closed.end, opened.end), ("exited", "exited"), (closed, opened))
                self.assertEqual(closed.stdout.split(), ["no-inet", "lo"])
                # The container's own network (nspawn --private-network: a loopback only).
                self.assertEqual(opened.stdout.split()[0], "inet")
                r = container.run(["sh", "-c", "sed -n '3,$s/:.*//p' /proc/net/dev | tr -d ' ' | sort"])
                self.assertEqual(opened.stdout.split()[1:], r.stdout.split())
                self.assertNothingLeft()

        def test_confinement(self):
                o = self.sh("id -u; "
                            "touch /usr/x 2>/dev/null && echo usr-writable || echo usr-readonly; "
                            "test -e /etc/passwd && echo host-etc || echo no-etc; "
                            "test -e /opt/pipelit-test/sandbox-driver && echo host-opt || echo no-opt; "
                            "test -e /sys/class && echo host-sys || echo no-sys; "
                            "echo data > /tmp/file && cat /tmp/file; "
                            "grep CapEff /proc/self/status; "
                            "sed -n '3,$s/:.*//p' /proc/net/dev | tr -d ' '; "
                            "tail -n 1 /proc/self/cgroup")
                self.assertEqual((o.end, o.status), ("exited", 0), o)
                lines = o.stdout.splitlines()
                uid = int(lines[0])
                # A dynamic user: not root, and none of the system's users either.
                self.assertTrue(61184 <= uid <= 65519, o)
                self.assertEqual(lines[1:7], ["usr-readonly", "no-etc", "no-opt", "no-sys", "data",
                                              "CapEff:\t0000000000000000"], o)
                self.assertEqual(lines[7], "lo", o)     # PrivateNetwork=: a loopback device only
                # In pipelit.slice, now that the package ships it.
                self.assertRegex(lines[8], r"/pipelit\.slice/pipelit-code-[0-9a-f]{32}\.service$")
                self.assertNothingLeft()

        def test_output_input_and_exit_status(self):
                o = self.sh("wc -c; printf '%s\\n' '$$ ${HOME} $HOME'; echo oops >&2; exit 7",
                            options=["--input-size", "524288"])
                self.assertEqual((o.end, o.status), ("exited", 7), o)
                self.assertEqual(o.stdout, "524288\n$$ ${HOME} $HOME\n")
                self.assertEqual(o.stderr, "oops\n")
                self.assertNothingLeft()

        def test_killed_by_a_signal(self):
                o = self.sh("kill -TERM $$")
                self.assertEqual((o.end, o.status), ("signaled", signal.SIGTERM), o)

        def test_timeout_kills_everything(self):
                o = self.sh("sleep 4321.5 & sleep 4321.5; echo never", options=["--timeout", "1"])
                self.assertEqual(o.end, "timed-out", o)
                self.assertEqual(o.stdout, "")
                self.assertTrue(900 <= o.msec < 4000, o)
                self.assertNothingLeft("4321.5")

        def test_stop_kills_everything(self):
                o = self.sh("sleep 4322.5 & sleep 4322.5; echo never", options=["--stop-after", "1"])
                self.assertEqual(o.end, "stopped", o)
                self.assertTrue(900 <= o.msec < 4000, o)
                self.assertNothingLeft("4322.5")

        def test_output_limit(self):
                o = self.sandbox("/usr/bin/yes", options=["--max-stdout", "10000"])
                self.assertEqual(o.end, "output-limit", o)
                self.assertEqual(o.stdout_size, 10000)
                self.assertEqual(o.stdout, "y\n" * 5000)
                self.assertNothingLeft()

        def test_memory_limit(self):
                o = self.sandbox("/usr/bin/python3", "-c", "x = bytearray(2 * 1024 ** 3)",
                                 options=["--max-memory", str(512 * 1024 ** 2)])
                self.assertEqual((o.end, o.status), ("exited", 1), o)
                self.assertIn("MemoryError", o.stderr)

        def test_program_that_cannot_start(self):
                o = self.sandbox("/nonexistent/program")
                self.assertEqual(o.end, "setup-failed", o)
                self.assertIn("could not start the sandbox unit", o.stderr)
                self.assertNothingLeft()


class BackendChoiceTest(SandboxTestCase):
        def which(self, *properties, user=None):
                argv = ["systemd-run", "--quiet", "--wait", "--pipe", "--collect"]
                for p in properties:
                        argv += ["-p", p]
                if user:
                        argv += ["-p", f"User={user}"]
                return container.run(argv + [DRIVER, "--which"]).stdout.strip()

        def test_code_socket_comes_first(self):
                self.start_code_socket()
                try:
                        # pipelitd.service as packaged (user pipelit), root in a service, by hand.
                        self.assertEqual(self.which(user="pipelit"), "socket")
                        self.assertEqual(self.which(), "socket")
                        self.assertEqual(container.run([DRIVER, "--which"]).stdout.strip(), "socket")
                        # Each look connected: the instances it started ended at once.
                        self.assertNothingLeft()
                finally:
                        self.stop_code_socket()

        def test_without_code_socket(self):
                self.stop_code_socket()
                # Root in a system service: a transient unit; anyone else, or outside a
                # service: bubblewrap (there is none in here, so code would be refused).
                self.assertEqual(self.which(), "systemd")
                self.assertEqual(self.which(user="pipelit"), "bubblewrap")
                self.assertEqual(container.run([DRIVER, "--which"]).stdout.strip(), "bubblewrap")
                self.assertEqual(self.which("Environment=PIPELIT_SANDBOX=bubblewrap"), "bubblewrap")
                # Asked for by name where it is not: refused, never something else.
                r = container.run([DRIVER, "--backend", "socket", "--", "/bin/true"], check=False)
                self.assertEqual(r.returncode, 1, r)
                self.assertIn("No such file or directory", r.stderr)

        def test_service_runs_snippets_in_units_bound_to_it(self):
                self.stop_code_socket()
                r = container.run(["systemd-run", "--quiet", "--wait", "--pipe", "--collect", "--unit",
                                   "pipelit-test-daemon.service", DRIVER, "--", "/bin/sh", "-c",
                                   "tail -n 1 /proc/self/cgroup"])
                self.assertRegex(r.stdout, r"end=exited status=0 .*\n0::/.*pipelit-code-[0-9a-f]{32}\.service\n")

                # The daemon's unit goes: its snippets go with it (BindsTo=).
                container.run(["systemd-run", "--quiet", "--collect", "--unit", "pipelit-test-daemon.service",
                               DRIVER, "--", "/bin/sleep", "4323.5"])
                for _ in range(50):
                        if self.units():
                                break
                        time.sleep(0.1)
                self.assertRegex(self.units(), UNIT_RE)
                container.run(["systemctl", "stop", "pipelit-test-daemon.service"])
                self.assertNothingLeft("4323.5")


class DaemonTest(SandboxTestCase):
        """pipelitd itself, installed as its package installs it, socket-activated, running as
        user pipelit under its hardened unit, with no polkit rule: a code node's snippet runs
        in a pipelit-code@.service instance."""

        PORT = 8080
        PASSWORD = "admin-password-1"

        @classmethod
        def setUpClass(cls):
                if not os.path.exists(os.path.join(container.bindir, "pipelitd")):
                        raise unittest.SkipTest(f"{BUILDDIR}/pipelitd is not built")
                r = container.run(["ldd", f"{DRIVER_DIR}/pipelitd"])
                missing = [line.split()[0] for line in r.stdout.splitlines() if "not found" in line]
                if missing:
                        raise unittest.SkipTest("the container lacks libraries pipelitd needs (add their "
                                                f"packages to PACKAGES): {' '.join(missing)}")

                install = f"""set -e
                        cp {DRIVER_DIR}/pipelitd /usr/sbin/pipelitd
                        sed -e 's|@sbindir@|/usr/sbin|g' {DRIVER_DIR}/pipelitd.service.in > {UNIT_DIR}/pipelitd.service
                        cp {DRIVER_DIR}/pipelitd.socket {UNIT_DIR}/
                        mkdir -p /etc/pipelit
                        cp {DRIVER_DIR}/pipelitd.conf /etc/pipelit/
                        cp {DRIVER_DIR}/org.pipelit.Pipelit1.conf /usr/share/dbus-1/system.d/
                        systemctl reload dbus.service
                        systemctl daemon-reload
                """
                container.run(["sh", "-c", install])
                # Nothing from polkit: no rule anywhere names pipelit.
                r = container.run(["sh", "-c", "cat /etc/polkit-1/rules.d/* /usr/share/polkit-1/rules.d/* "
                                   "2>/dev/null | grep -c pipelit || true"])
                assert r.stdout.strip() == "0", "a polkit rule names pipelit"

                # The admin, in the database the service will use, as the service's user.
                container.run(["systemd-run", "--quiet", "--wait", "--pipe", "--collect", "-p", "User=pipelit",
                               "-p", "StateDirectory=pipelit", "-p", "StateDirectoryMode=0750",
                               "/usr/sbin/pipelitd", "--create-admin", "admin"], input=cls.PASSWORD + "\n")
                # Only the daemon's socket: the service pulls the code socket in.
                container.run(["systemctl", "stop", "pipelit-code.socket"])
                container.run(["systemctl", "start", "pipelitd.socket"])

        @classmethod
        def tearDownClass(cls):
                container.run(["systemctl", "stop", "pipelitd.socket", "pipelitd.service", "pipelit-code.socket"],
                              check=False)

        def workflow(self, extra_config, cancel_after=None):
                argv = ["python3", f"{DRIVER_DIR}/run-code-workflow.py", str(self.PORT), "admin", self.PASSWORD,
                        json.dumps(extra_config)]
                if cancel_after is not None:
                        argv += ["--cancel-after", str(cancel_after)]
                r = container.run(argv, check=False, timeout=90)
                if r.returncode != 0:
                        journal = container.run(["journalctl", "-u", "pipelitd.service", "--no-pager", "-n", "40"],
                                                check=False).stdout
                        self.fail(f"the workflow did not run: {r.stdout}{r.stderr}\n{journal}")
                detail = json.loads(r.stdout)
                runs = [l for l in detail["logs"] if l["node_id"] == "calc"]
                return detail, runs[-1] if runs else None

        def test_service_runs_code_through_the_code_socket(self):
                detail, calc = self.workflow({"language": "python", "code":
                                              "import os, socket\n"
                                              "try:\n"
                                              "    socket.socket(socket.AF_INET)\n"
                                              "    net = 'inet'\n"
                                              "except OSError:\n"
                                              "    net = 'no-inet'\n"
                                              "return {'uid': os.getuid(), 'net': net, 'n': len(trigger['text']),\n"
                                              "        'etc': os.listdir('/etc'),\n"
                                              "        'cgroup': open('/proc/self/cgroup').read().split()[-1]}\n"})
                self.assertEqual(detail["status"], "completed", detail)
                output = calc["output"]["output"]
                self.assertEqual(output["n"], 5)
                self.assertEqual(output["net"], "no-inet")
                self.assertEqual(output["etc"], [])
                self.assertTrue(61184 <= output["uid"] <= 65519, output)
                self.assertRegex(output["cgroup"], r"^0::/pipelit\.slice/" + INSTANCE_RE.pattern + "$")

                # It was the real service: user pipelit, under its own unit, which started the
                # code socket it wants.
                pid = container.run(["systemctl", "show", "-P", "MainPID", "pipelitd.service"]).stdout.strip()
                status = container.run(["cat", f"/proc/{pid}/status"]).stdout
                uid = container.run(["id", "-u", "pipelit"]).stdout.strip()
                self.assertRegex(status, rf"\nUid:\t{uid}\t")
                self.assertRegex(output["cgroup"], rf"-{uid}\.service$")       # the peer: pipelitd
                state = container.run(["systemctl", "is-active", "pipelit-code.socket"], check=False).stdout
                self.assertEqual(state.strip(), "active")
                self.assertNothingLeft()

        def test_failing_snippet_fails_the_node(self):
                detail, calc = self.workflow({"language": "python", "code": "raise ValueError('bad input')"})
                self.assertEqual(detail["status"], "failed", detail)
                self.assertEqual(calc["error_code"], "code", calc)
                self.assertIn("bad input", calc["error"])

        def test_sh_output_and_exit_code(self):
                detail, calc = self.workflow({"language": "sh", "code": "echo fine; echo broken >&2; exit 3"})
                self.assertEqual(detail["status"], "failed", detail)
                self.assertEqual(calc["error_code"], "code", calc)
                self.assertIn("exited with status 3", calc["error"])
                self.assertIn("broken", calc["error"])
                detail, calc = self.workflow({"language": "sh", "code": "echo fine"})
                self.assertEqual(detail["status"], "completed", detail)
                self.assertEqual(calc["output"], {"output": "fine"})

        def test_timeout_kills_the_instance(self):
                detail, calc = self.workflow({"language": "sh", "code": "sleep 4345.5 & sleep 4345.5",
                                              "timeout": 1})
                self.assertEqual(detail["status"], "failed", detail)
                self.assertEqual(calc["error_code"], "timeout", calc)
                self.assertNothingLeft("4345.5")

        def test_agent_runs_commands_in_its_workspace(self):
                r = container.run(["python3", f"{DRIVER_DIR}/run-agent-workflow.py", str(self.PORT), "admin",
                                   self.PASSWORD,
                                   json.dumps(["echo kept > notes; id -u; pwd", "cat notes; ls -a"]),
                                   json.dumps(["cat notes; id -u"])], check=False, timeout=180)
                if r.returncode != 0:
                        journal = container.run(["journalctl", "-u", "pipelitd.service", "--no-pager", "-n", "40"],
                                                check=False).stdout
                        self.fail(f"the agent did not run: {r.stdout}{r.stderr}\n{journal}")
                out = json.loads(r.stdout)
                first, second = out["executions"]
                self.assertEqual((first["status"], second["status"]), ("completed", "completed"), out)
                uid, pwd = first["results"][0].split("\n")
                self.assertTrue(61184 <= int(uid) <= 65519, out)
                self.assertEqual(pwd, f"/run/workspaces/{out['workflow_id']}/agent/home")
                self.assertEqual(first["results"][1], "kept\n.\n..\nnotes")
                # The next execution: the same folder, another dynamic user.
                kept, uid = second["results"][0].split("\n")
                self.assertEqual(kept, "kept")
                self.assertTrue(61184 <= int(uid) <= 65519, out)
                folder = f"{WORKSPACES}/{out['workflow_id']}"
                self.assertEqual(container.run(["cat", f"{folder}/agent/home/notes"]).stdout, "kept\n")
                self.assertNothingLeft()

                # The workspaces go with the workflow.
                r = container.run(["python3", "-c",
                                   "import json, sys, http.client\n"
                                   "def call(method, path, body=None, token=None):\n"
                                   "    c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]))\n"
                                   "    h = {'Content-Type': 'application/json'}\n"
                                   "    if token: h['Authorization'] = 'Bearer ' + token\n"
                                   "    c.request(method, '/api/v1' + path, json.dumps(body) if body else None, h)\n"
                                   "    r = c.getresponse(); data = r.read(); return r.status, data\n"
                                   "s, d = call('POST', '/auth/token/', {'username': 'admin', 'password': sys.argv[2]})\n"
                                   "print(call('DELETE', '/workflows/%s/' % sys.argv[3], token=json.loads(d)['key'])[0])\n",
                                   str(self.PORT), self.PASSWORD, out["slug"]])
                self.assertEqual(r.stdout.strip(), "204")
                for _ in range(50):
                        if container.run(["test", "-e", folder], check=False).returncode != 0:
                                break
                        time.sleep(0.1)
                self.assertNotEqual(container.run(["test", "-e", folder], check=False).returncode, 0)

        def test_cancel_kills_the_instance(self):
                detail, _ = self.workflow({"language": "sh", "code": "sleep 4346.5 & sleep 4346.5"},
                                          cancel_after=1.5)
                self.assertEqual(detail["status"], "cancelled", detail)
                self.assertNothingLeft("4346.5")


if __name__ == "__main__":
        unittest.main(verbosity=2)
