"""Shared machinery of the integration suite: a PostgreSQL server of our own, the pipelitd
daemon under test, and a small HTTP client. Standard library only.

Environment:
  PIPELITD               the binary under test (default $PIPELIT_SRCDIR/pipelitd)
  PIPELIT_SRCDIR         the source tree (default: two levels above this file)
  PIPELIT_TEST_DATABASE  sqlite (default) or postgresql
  PIPELIT_TEST_KEEP      when set, temporary directories are kept for inspection
"""

import atexit
import glob
import http.client
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("PIPELIT_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
PIPELITD = os.environ.get("PIPELITD") or os.path.join(SRCDIR, "pipelitd")
BACKEND = os.environ.get("PIPELIT_TEST_DATABASE", "sqlite")
KEEP = bool(os.environ.get("PIPELIT_TEST_KEEP"))

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-password-1"

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")

_counter = itertools.count(1)


def unique(prefix="x"):
        """A name no other test of this run uses."""
        return "%s%d%d" % (prefix, os.getpid() % 10000, next(_counter))


def _ephemeral_low():
        try:
                with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
                        return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
                return 32768


def free_port():
        """A free port below the kernel's ephemeral range: a daemon restarted on its port must
        find it free, and any outgoing connection (of this suite or of the other backend's,
        running side by side) may get a port of that range as its own end."""
        low = _ephemeral_low()
        for _ in range(200):
                port = random.randrange(max(1024, low - 12000), low)
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                        try:
                                s.bind(("127.0.0.1", port))
                        except OSError:
                                continue
                        return port
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                return s.getsockname()[1]


def _rmtree(path):
        if path and not KEEP:
                shutil.rmtree(path, ignore_errors=True)


def tail(path, limit=20000):
        try:
                with open(path, "rb") as f:
                        data = f.read()
        except OSError:
                return ""
        return data[-limit:].decode("utf-8", "replace")


# --- PostgreSQL -----------------------------------------------------------------------------

def postgres_bindir():
        """The bin directory of the newest PostgreSQL installed, or None."""
        best = None
        for d in glob.glob("/usr/lib/postgresql/*/bin"):
                try:
                        v = float(d.split("/")[-2])
                except ValueError:
                        continue
                if os.access(os.path.join(d, "initdb"), os.X_OK) and (best is None or v > best[0]):
                        best = (v, d)
        return best[1] if best else None


class PostgresServer:
        """A throw-away PostgreSQL cluster listening only on a unix socket in a temp dir."""

        def __init__(self):
                self.bindir = postgres_bindir()
                if not self.bindir:
                        raise unittest.SkipTest("PostgreSQL is not installed")
                self.dir = tempfile.mkdtemp(prefix="pipelit-pg-")
                self.data = os.path.join(self.dir, "data")
                self.sockdir = self.dir
                self.logfile = os.path.join(self.dir, "postgres.log")
                self.port = free_port()
                self.as_root = os.geteuid() == 0
                self.running = False

        def _argv(self, prog, *args):
                argv = [os.path.join(self.bindir, prog)] + list(args)
                if self.as_root:
                        argv = ["runuser", "-u", "postgres", "--"] + argv
                return argv

        def _run(self, prog, *args, input=None, check=True):
                p = subprocess.run(self._argv(prog, *args), input=input, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=60)
                if check and p.returncode != 0:
                        raise RuntimeError("%s failed (%d):\n%s\n%s" % (
                                prog, p.returncode, p.stdout.decode("utf-8", "replace"),
                                tail(self.logfile)))
                return p

        def start(self):
                if self.as_root:
                        shutil.chown(self.dir, "postgres", "postgres")
                self._run("initdb", "-A", "trust", "-U", "postgres", "-D", self.data,
                          "--no-sync", "-E", "UTF8", "--locale=C")
                opts = "-p %d -k %s -c listen_addresses='' -c fsync=off -c full_page_writes=off" \
                       " -c synchronous_commit=off" % (self.port, self.sockdir)
                self._run("pg_ctl", "-D", self.data, "-l", self.logfile, "-o", opts, "-w",
                          "-t", "60", "start")
                self.running = True
                return self

        def create_database(self, name):
                self._run("createdb", "-h", self.sockdir, "-p", str(self.port), "-U", "postgres",
                          name)
                return self.url(name)

        def psql(self, dbname, sql):
                p = self._run("psql", "-h", self.sockdir, "-p", str(self.port), "-U", "postgres",
                              "-d", dbname, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql)
                return p.stdout.decode()

        def url(self, name):
                return "postgresql://postgres@/%s?host=%s&port=%d" % (name, self.sockdir, self.port)

        def stop(self):
                if self.running:
                        p = self._run("pg_ctl", "-D", self.data, "stop", "-m", "immediate", "-w",
                                      check=False)
                        if p.returncode != 0:
                                self._kill_postmaster()
                        self.running = False
                _rmtree(self.dir)

        def _kill_postmaster(self):
                try:
                        with open(os.path.join(self.data, "postmaster.pid")) as f:
                                pid = int(f.readline())
                        os.kill(pid, signal.SIGKILL)
                except (OSError, ValueError):
                        pass


_postgres = None


def postgres():
        """The run's PostgreSQL server, started on first use and stopped at exit."""
        global _postgres
        if _postgres is None:
                server = PostgresServer()
                atexit.register(server.stop)
                server.start()
                _postgres = server
        return _postgres


def stop_postgres():
        global _postgres
        if _postgres is not None:
                _postgres.stop()
                _postgres = None


# --- HTTP client ----------------------------------------------------------------------------

class UnixHTTPConnection(http.client.HTTPConnection):
        def __init__(self, path, timeout=30):
                super().__init__("localhost", timeout=timeout)
                self.unix_path = path

        def connect(self):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(self.timeout)
                s.connect(self.unix_path)
                self.sock = s


class Response:
        """status, body (parsed JSON, text, or None when empty), headers (case-insensitive)."""

        def __init__(self, status, body, headers, raw):
                self.status = status
                self.body = body
                self.headers = headers
                self.raw = raw

        def __iter__(self):
                return iter((self.status, self.body, self.headers))

        def __repr__(self):
                return "<%d %s>" % (self.status, self.raw[:2000].decode("utf-8", "replace"))


class Client:
        """A keep-alive HTTP client for the API. Paths not starting with '/api/' or '/health'
        get the '/api/v1' prefix; pass absolute=True for anything else (static files)."""

        PREFIX = "/api/v1"

        def __init__(self, port=None, token=None, host="127.0.0.1", unix_path=None, timeout=30):
                self.host = host
                self.port = port
                self.unix_path = unix_path
                self.token = token
                self.timeout = timeout
                self.conn = None

        def with_token(self, token):
                return Client(self.port, token, self.host, self.unix_path, self.timeout)

        def _connect(self):
                if self.unix_path:
                        return UnixHTTPConnection(self.unix_path, timeout=self.timeout)
                return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

        def close(self):
                if self.conn:
                        self.conn.close()
                        self.conn = None

        def url(self, path, absolute=False):
                if absolute or path.startswith("/api/") or path.startswith("/health"):
                        return path
                return self.PREFIX + path

        def request(self, method, path, body=None, headers=None, absolute=False, raw_body=None,
                    token=None):
                url = self.url(path, absolute)
                hdrs = {}
                tok = token if token is not None else self.token
                if tok:
                        hdrs["Authorization"] = "Bearer " + tok
                data = None
                if raw_body is not None:
                        data = raw_body if isinstance(raw_body, bytes) else raw_body.encode()
                        hdrs["Content-Type"] = "application/json"
                elif body is not None:
                        data = json.dumps(body).encode()
                        hdrs["Content-Type"] = "application/json"
                if headers:
                        hdrs.update(headers)
                for attempt in (0, 1):
                        reused = self.conn is not None and self.conn.sock is not None
                        if self.conn is None:
                                self.conn = self._connect()
                        try:
                                self.conn.request(method, url, body=data, headers=hdrs)
                                resp = self.conn.getresponse()
                                raw = resp.read()
                        except (http.client.RemoteDisconnected, ConnectionResetError,
                                BrokenPipeError, http.client.BadStatusLine) as e:
                                self.close()
                                # An idle keep-alive connection may have been closed by the
                                # server; try once on a fresh one, never twice.
                                if attempt == 0 and reused:
                                        continue
                                raise
                        break
                if resp.will_close:
                        self.close()
                body_out = None
                if raw:
                        ctype = resp.headers.get("Content-Type", "")
                        if "json" in ctype:
                                try:
                                        body_out = json.loads(raw)
                                except ValueError:
                                        body_out = raw.decode("utf-8", "replace")
                        else:
                                body_out = raw.decode("utf-8", "replace")
                return Response(resp.status, body_out, resp.headers, raw)

        def get(self, path, **kw):
                return self.request("GET", path, **kw)

        def post(self, path, body=None, **kw):
                return self.request("POST", path, body, **kw)

        def patch(self, path, body=None, **kw):
                return self.request("PATCH", path, body, **kw)

        def put(self, path, body=None, **kw):
                return self.request("PUT", path, body, **kw)

        def delete(self, path, **kw):
                return self.request("DELETE", path, **kw)

        # Raw access for malformed input -----------------------------------------------

        def raw_socket(self, timeout=10):
                if self.unix_path:
                        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                        s.settimeout(timeout)
                        s.connect(self.unix_path)
                else:
                        s = socket.create_connection((self.host, self.port), timeout=timeout)
                return s

        def raw(self, data, timeout=10, half_close=False):
                """Sends bytes on a new connection and returns whatever comes back until
                the server closes or goes quiet for `timeout` seconds. Send errors (the
                server closing early) are tolerated."""
                s = self.raw_socket(timeout)
                try:
                        try:
                                s.sendall(data)
                                if half_close:
                                        s.shutdown(socket.SHUT_WR)
                        except OSError:  # closed early, reset, timed out
                                pass
                        return read_all(s)
                finally:
                        s.close()


def read_all(s):
        chunks = []
        while True:
                try:
                        b = s.recv(65536)
                except (socket.timeout, ConnectionResetError):
                        break
                if not b:
                        break
                chunks.append(b)
                # Stop as soon as one complete response is in.
                if _complete_response(b"".join(chunks)):
                        break
        return b"".join(chunks)


def _complete_response(data):
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
                return False
        m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
        if m:
                return len(body) >= int(m.group(1))
        return False


def raw_status(data):
        """The status code of a raw HTTP response, or None when there is none."""
        m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
        return int(m.group(1)) if m else None


# --- the daemon -----------------------------------------------------------------------------

def daemon_env(extra=None):
        """The daemon's environment: ours without PIPELIT_* settings and systemd hand-overs,
        plus extra."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PIPELIT_") and k not in (
                       "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                       "WATCHDOG_USEC", "WATCHDOG_PID", "STATE_DIRECTORY", "PIPELITD")}
        if extra:
                env.update(extra)
        return env


_db_counter = itertools.count(1)


def new_database(state_dir):
        """A fresh, empty database for one daemon: (url, name) for the selected backend."""
        if BACKEND == "postgresql":
                name = "pipelit_it_%d_%d" % (os.getpid(), next(_db_counter))
                return postgres().create_database(name), name
        if BACKEND != "sqlite":
                raise RuntimeError("PIPELIT_TEST_DATABASE must be sqlite or postgresql")
        path = os.path.join(state_dir, "pipelit.db")
        return "sqlite://" + path, path


class DaemonError(AssertionError):
        pass


class Daemon:
        """One pipelitd process with its own state directory and database."""

        def __init__(self, args=(), env=None, listen=True, database=True, name="pipelitd",
                     config=None):
                self.base = tempfile.mkdtemp(prefix="pipelit-it-")
                self.state_dir = os.path.join(self.base, "state")
                os.mkdir(self.state_dir)
                self.logfile = os.path.join(self.base, "%s.log" % name)
                self.port = free_port()
                self.listen = listen
                self.extra_args = list(args)
                self.config_path = None
                if config is not None:
                        self.config_path = self.write_file("pipelitd.conf", config)
                        self.extra_args = ["--config", self.config_path] + self.extra_args
                self.extra_env = dict(env or {})
                self.use_database = database
                if database:
                        self.database_url, self.database_name = new_database(self.state_dir)
                else:
                        self.database_url = self.database_name = None
                self.proc = None
                self.returncode = None
                self._log = None

        def write_file(self, name, text):
                """Writes text to a file in our temp directory; returns its path."""
                path = os.path.join(self.base, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                        f.write(text)
                return path

        # command lines ---------------------------------------------------------------

        def base_args(self):
                args = [PIPELITD, "--state-dir", self.state_dir]
                if self.use_database:
                        args += ["--database", self.database_url]
                return args

        def command(self, *extra):
                args = self.base_args()
                if self.listen:
                        args += ["--listen", "127.0.0.1:%d" % self.port]
                return args + self.extra_args + list(extra)

        def run_tool(self, *extra, input=None, timeout=30, env=None):
                """Runs pipelitd with our state and database for a one-shot command."""
                return subprocess.run(self.base_args() + list(extra), input=input,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      env=daemon_env(dict(self.extra_env, **(env or {}))),
                                      timeout=timeout)

        def create_admin(self, username=ADMIN_USER, password=ADMIN_PASSWORD):
                p = self.run_tool("--create-admin", username, input=(password + "\n").encode())
                if p.returncode != 0:
                        raise DaemonError("pipelitd --create-admin %s failed (%d):\n%s%s" % (
                                username, p.returncode, p.stdout.decode("utf-8", "replace"),
                                p.stderr.decode("utf-8", "replace")))
                return p

        # lifetime --------------------------------------------------------------------

        def start(self, wait=True, argv=None, env=None, pass_fds=()):
                """Starts the daemon (argv replaces the whole command line when given) and
                waits until /health answers. Another process may take our free port between
                free_port() and the bind; then we try again on a new one."""
                for attempt in range(3):
                        try:
                                return self._start(wait, argv, env, pass_fds)
                        except DaemonError:
                                if not (wait and argv is None and self.listen and attempt < 2 and
                                        "Address already in use" in self.log()):
                                        raise
                                self.port = free_port()

        def _start(self, wait, argv, env, pass_fds):
                self._close_log()
                self._log = open(self.logfile, "ab")
                self.proc = subprocess.Popen(argv or self.command(), stdin=subprocess.DEVNULL,
                                             stdout=self._log, stderr=subprocess.STDOUT,
                                             env=daemon_env(dict(self.extra_env, **(env or {}))),
                                             pass_fds=pass_fds)
                self.returncode = None
                if wait:
                        self.wait_ready()
                return self

        def wait_ready(self, timeout=START_TIMEOUT, client=None):
                client = client or self.client()
                deadline = time.monotonic() + timeout
                last = None
                while time.monotonic() < deadline:
                        if self.proc.poll() is not None:
                                self.returncode = self.proc.returncode
                                raise DaemonError("pipelitd exited with %d during start-up:\n%s" % (
                                        self.proc.returncode, self.log()))
                        try:
                                r = client.get("/health")
                                if r.status == 200:
                                        return r
                                last = r
                        except OSError as e:
                                last = e
                                client.close()
                        time.sleep(0.05)
                self.kill()
                raise DaemonError("pipelitd did not answer /health within %gs (last: %r):\n%s" % (
                        timeout, last, self.log()))

        def running(self):
                return self.proc is not None and self.proc.poll() is None

        def signal(self, sig):
                self.proc.send_signal(sig)

        def wait(self, timeout):
                try:
                        self.returncode = self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                        return None
                return self.returncode

        def stop(self, timeout=STOP_TIMEOUT, check=True):
                """SIGTERM, then expects exit code 0 within timeout seconds."""
                if self.proc is None:
                        return None
                if self.proc.poll() is None:
                        self.proc.send_signal(signal.SIGTERM)
                        try:
                                self.proc.wait(timeout)
                        except subprocess.TimeoutExpired:
                                self.proc.kill()
                                self.proc.wait()
                                self._close_log()
                                self.proc = None
                                raise DaemonError("pipelitd did not exit within %gs of SIGTERM:\n%s"
                                                  % (timeout, self.log()))
                rc = self.proc.returncode
                self.returncode = rc
                self.proc = None
                self._close_log()
                if check and rc != 0:
                        raise DaemonError("pipelitd exited with %d after SIGTERM:\n%s" % (
                                rc, self.log()))
                return rc

        def kill(self):
                if self.proc is not None and self.proc.poll() is None:
                        self.proc.kill()
                        self.proc.wait()
                self.proc = None
                self._close_log()

        def _close_log(self):
                if self._log:
                        self._log.close()
                        self._log = None

        def cleanup(self):
                self.kill()
                _rmtree(self.base)

        def log(self):
                return tail(self.logfile)

        # clients -----------------------------------------------------------------------

        def client(self, token=None):
                return Client(self.port, token)

        def login(self, username=ADMIN_USER, password=ADMIN_PASSWORD, client=None):
                r = (client or self.client()).post("/auth/token/",
                                                   {"username": username, "password": password})
                if r.status != 200 or not isinstance(r.body, dict) or not r.body.get("key"):
                        raise DaemonError("login as %s failed: %r" % (username, r))
                return r.body["key"]


# --- test cases -----------------------------------------------------------------------------

class DaemonTestCase(unittest.TestCase):
        """One daemon per class, with an admin and a long-lived admin API key (so tests that
        log in as admin, which keeps only the newest 'session' keys, do not pull the rug)."""

        daemon_args = ()
        daemon_env = {}
        daemon_config = None
        daemon = None

        @classmethod
        def setUpClass(cls):
                cls.daemon = Daemon(args=cls.daemon_args, env=cls.daemon_env,
                                    config=cls.daemon_config)
                try:
                        cls.daemon.create_admin()
                        cls.daemon.start()
                        session = cls.daemon.login()
                        r = cls.daemon.client(session).post("/users/me/keys/", {"name": "tests"})
                        if r.status != 201 or not isinstance(r.body, dict) or "key" not in r.body:
                                raise DaemonError("creating the admin's API key failed: %r" % (r,))
                        cls.admin_key = r.body["key"]
                        cls.admin = cls.daemon.client(cls.admin_key)
                        r = cls.admin.get("/users/me/")
                        if r.status != 200:
                                raise DaemonError("GET /users/me/ failed: %r" % (r,))
                        cls.admin_id = r.body["id"]
                except BaseException:
                        log = cls.daemon.log()
                        cls.daemon.cleanup()
                        sys.stderr.write("\n--- pipelitd log (%s) ---\n%s\n" % (cls.__name__, log))
                        raise

        @classmethod
        def tearDownClass(cls):
                try:
                        cls.daemon.stop()
                finally:
                        cls.daemon.cleanup()

        # helpers -----------------------------------------------------------------------

        def anon(self):
                return self.daemon.client()

        def make_user(self, role="normal", password="user-password-1", **fields):
                """Creates a user through the admin API; returns (UserOut, Client)."""
                name = fields.pop("username", None) or unique("user")
                body = dict(username=name, password=password, role=role, **fields)
                r = self.admin.post("/users/", body)
                self.assertEqual(r.status, 201, r)
                key = self.daemon.login(name, password)
                return r.body, self.daemon.client(key)

        def make_workflow(self, client=None, **fields):
                fields.setdefault("name", unique("Workflow "))
                r = (client or self.admin).post("/workflows/", fields)
                self.assertEqual(r.status, 201, r)
                return r.body

        def make_node(self, slug, component_type, client=None, **fields):
                fields["component_type"] = component_type
                r = (client or self.admin).post("/workflows/%s/nodes/" % slug, fields)
                self.assertEqual(r.status, 201, r)
                return r.body

        def make_edge(self, slug, source, target, client=None, **fields):
                fields.update(source_node_id=source, target_node_id=target)
                r = (client or self.admin).post("/workflows/%s/edges/" % slug, fields)
                self.assertEqual(r.status, 201, r)
                return r.body

        def assertHealthy(self):
                self.assertTrue(self.daemon.running(),
                                "pipelitd is gone (exit %r)" % (self.daemon.proc and
                                                                self.daemon.proc.poll()))
                r = self.anon().get("/health")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body.get("status"), "ok", r)

        def assertTimestamp(self, value, what="timestamp"):
                self.assertIsInstance(value, str, what)
                self.assertRegex(value, TIMESTAMP_RE, what)

        def assertValidation(self, r, field, where="body"):
                """422 with a validation error list with an entry whose loc starts with
                [where, field] (field may be a path: ["config", "temperature"])."""
                self.assertEqual(r.status, 422, r)
                detail = r.body.get("detail") if isinstance(r.body, dict) else None
                self.assertIsInstance(detail, list, r)
                want = [where] + (list(field) if isinstance(field, (list, tuple)) else [field])
                locs = [e.get("loc") for e in detail if isinstance(e, dict)]
                self.assertTrue(any(isinstance(l, list) and l[:len(want)] == want for l in locs),
                                "no validation error at %r in %r" % (want, r))
                for e in detail:
                        self.assertIsInstance(e.get("msg"), str, r)
                        self.assertIsInstance(e.get("type"), str, r)

        def assertNotAuthenticated(self, r):
                self.assertEqual(r.status, 401, r)
                self.assertEqual(r.body, {"detail": "Not authenticated."}, r)
                self.assertIn("bearer", (r.headers.get("WWW-Authenticate") or "").lower(), r)
