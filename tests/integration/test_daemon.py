"""pipelitd as a program: command line, configuration, systemd integration, signals,
schema versions and static files. Each test runs its own daemon."""

import glob
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import unittest

import harness
from harness import (ADMIN_USER, PIPELITD, Client, Daemon, free_port,
                     raw_status, read_all)


def shipped_schema_version():
        files = glob.glob(os.path.join(harness.SRCDIR, "data", "migrations", harness.BACKEND,
                                       "[0-9]*.sql"))
        versions = [int(re.match(r"(\d+)", os.path.basename(f)).group(1)) for f in files]
        return max(versions) if versions else None


class DaemonProgramTest(unittest.TestCase):
        def daemon(self, **kw):
                d = Daemon(**kw)
                self.addCleanup(d.cleanup)
                return d

        def run_pipelitd(self, *args, timeout=10, env=None):
                return subprocess.run([PIPELITD] + list(args), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, timeout=timeout,
                                      env=harness.daemon_env(env), stdin=subprocess.DEVNULL)

        def start_expect_failure(self, d, timeout=10, **kw):
                """Starts d, which must exit non-zero by itself; returns its output."""
                d.start(wait=False, **kw)
                rc = d.wait(timeout)
                if rc is None:
                        d.kill()
                        self.fail("pipelitd kept running, expected it to refuse:\n" + d.log())
                self.assertNotEqual(rc, 0, d.log())
                return d.log()

        def stop(self, d):
                self.assertEqual(d.stop(check=False), 0, d.log())

        # --- command line ------------------------------------------------------------

        def test_version(self):
                p = self.run_pipelitd("--version")
                self.assertEqual(p.returncode, 0, p)
                self.assertRegex(p.stdout.decode(), r"\d+\.\d+\.\d+")
                with open(os.path.join(harness.SRCDIR, "configure.ac")) as f:
                        m = re.search(r"AC_INIT\(\[pipelit\],\s*\[([^\]]+)\]", f.read())
                if m:
                        self.assertIn(m.group(1), p.stdout.decode())

        def test_help(self):
                p = self.run_pipelitd("--help")
                self.assertEqual(p.returncode, 0, p)
                out = p.stdout.decode()
                for opt in ("--config", "--listen", "--listen-unix", "--state-dir", "--database",
                            "--log-level", "--create-admin", "--version"):
                        self.assertIn(opt, out)

        def test_unknown_option(self):
                p = self.run_pipelitd("--no-such-option")
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(b"no-such-option", p.stderr)

        def test_bad_log_level(self):
                d = self.daemon(args=["--log-level", "shouting"])
                self.start_expect_failure(d)

        def test_bad_listen_address(self):
                d = self.daemon(listen=False, args=["--listen", "not-an-address"])
                self.assertIn("not-an-address", self.start_expect_failure(d))

        def test_create_admin_twice(self):
                d = self.daemon()
                d.create_admin("boss", "boss-password")
                p = d.run_tool("--create-admin", "boss", input=b"other-password\n")
                self.assertNotEqual(p.returncode, 0, p)
                d.start()
                d.login("boss", "boss-password")
                self.stop(d)

        # --- configuration -----------------------------------------------------------

        def test_bad_value_names_file_and_line(self):
                d = self.daemon(config="# pipelit\n[Server]\nMaxBodySize=lots\n")
                log = self.start_expect_failure(d)
                self.assertIn("pipelitd.conf:3", log)

        def test_unknown_key_names_file_and_line(self):
                d = self.daemon(config="[Server]\n\n; comment\nFrobnicate=yes\n")
                log = self.start_expect_failure(d)
                self.assertIn("pipelitd.conf:4", log)
                self.assertIn("Frobnicate", log)

        def test_unknown_section(self):
                d = self.daemon(config="[Log]\nLevel=info\n[Bogus]\nX=1\n")
                log = self.start_expect_failure(d)
                self.assertIn("pipelitd.conf:3", log)

        def test_missing_config_file(self):
                d = self.daemon(args=["--config", "/nonexistent/pipelitd.conf"])
                self.assertIn("/nonexistent/pipelitd.conf", self.start_expect_failure(d))

        def test_dropin_error_names_the_dropin(self):
                d = self.daemon(config="[Log]\nLevel=info\n")
                d.write_file("pipelitd.conf.d/50-local.conf", "[Log]\nLevel=shouting\n")
                log = self.start_expect_failure(d)
                self.assertIn("50-local.conf:2", log)

        def test_config_file_and_dropins_apply(self):
                port = free_port()
                d = self.daemon(listen=False, config="[Server]\nListen=127.0.0.1:%d\n"
                                "MaxBodySize=1M\n" % port)
                d.write_file("pipelitd.conf.d/10-small.conf", "[Server]\nMaxBodySize=1K\n")
                d.write_file("pipelitd.conf.d/ignored.txt", "this is not a drop-in\n")
                d.create_admin()
                d.port = port
                d.start()
                r = d.client().post("/auth/token/", raw_body=b'{"username": "%s", "x": "%s"}'
                                    % (ADMIN_USER.encode(), b"y" * 2048))
                self.assertEqual(r.status, 413, r)
                d.login()
                self.stop(d)

        def test_env_overrides_config(self):
                p1, p2 = free_port(), free_port()
                d = self.daemon(listen=False, config="[Server]\nListen=127.0.0.1:%d\n" % p1,
                                env={"PIPELIT_LISTEN": "127.0.0.1:%d" % p2})
                d.port = p2
                d.start()
                with self.assertRaises(ConnectionRefusedError):
                        socket.create_connection(("127.0.0.1", p1), timeout=2).close()
                self.stop(d)

        def test_command_line_overrides_env(self):
                p2 = free_port()
                d = self.daemon(env={"PIPELIT_LISTEN": "127.0.0.1:%d" % p2})
                d.start()  # on --listen 127.0.0.1:d.port
                with self.assertRaises(ConnectionRefusedError):
                        socket.create_connection(("127.0.0.1", p2), timeout=2).close()
                self.stop(d)

        def test_bad_env_value(self):
                d = self.daemon(env={"PIPELIT_MAX_BODY_SIZE": "huge"})
                self.assertIn("PIPELIT_MAX_BODY_SIZE", self.start_expect_failure(d))

        def test_default_database_is_sqlite_in_the_state_dir(self):
                if harness.BACKEND != "sqlite":
                        self.skipTest("sqlite only")
                d = self.daemon(database=False)
                d.start()
                r = d.client().get("/health")
                self.assertEqual(r.body["database_backend"], "sqlite")
                self.assertTrue(os.path.exists(os.path.join(d.state_dir, "pipelit.db")))
                self.stop(d)

        # --- systemd -------------------------------------------------------------------

        def test_notify_ready(self):
                d = self.daemon()
                path = os.path.join(d.base, "notify")
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self.addCleanup(sock.close)
                sock.bind(path)
                sock.settimeout(harness.START_TIMEOUT)
                d.start(wait=False, env={"NOTIFY_SOCKET": path})
                messages = []
                try:
                        while not any("READY=1" in m.split("\n") for m in messages):
                                messages.append(sock.recv(4096).decode())
                except socket.timeout:
                        self.fail("no READY=1 within %gs; got %r\n%s" % (harness.START_TIMEOUT,
                                                                           messages, d.log()))
                self.assertTrue(any(line.startswith("STATUS=") for m in messages
                                    for line in m.split("\n")), messages)
                # Ready means ready: the API answers right away.
                r = d.client().get("/health")
                self.assertEqual(r.status, 200, r)
                self.stop(d)

        def test_socket_activation(self):
                tool = shutil.which("systemd-socket-activate")
                if not tool:
                        self.skipTest("systemd-socket-activate is not installed")
                d = self.daemon(listen=False)
                d.create_admin()
                argv = [tool, "-l", "127.0.0.1:%d" % d.port, "--fdname=http"] + d.command()
                d.start(argv=argv)
                c = d.client(d.login())
                r = c.post("/workflows/", {"name": "activated"})
                self.assertEqual(r.status, 201, r)
                self.assertEqual(c.get("/workflows/%s/" % r.body["slug"]).status, 200)
                self.stop(d)

        def test_socket_activated_daemon_exits_when_idle(self):
                tool = shutil.which("systemd-socket-activate")
                if not tool:
                        self.skipTest("systemd-socket-activate is not installed")
                d = self.daemon(listen=False)
                argv = [tool, "-l", "127.0.0.1:%d" % d.port, "--fdname=http",
                        "-E", "PIPELIT_IDLE_TIMEOUT_SEC=1"] + d.command()
                d.start(argv=argv)
                self.assertEqual(d.client().get("/health").status, 200)
                started = time.monotonic()
                rc = d.wait(10)
                self.assertEqual(rc, 0, "still running 10 s after going idle:\n" + d.log())
                self.assertGreaterEqual(time.monotonic() - started, 0.5)
                self.assertIn("Idle for 1 s", d.log())

        def test_socket_activated_daemon_stays_up_while_an_execution_waits(self):
                tool = shutil.which("systemd-socket-activate")
                if not tool:
                        self.skipTest("systemd-socket-activate is not installed")
                d = self.daemon(listen=False)
                d.create_admin()
                argv = [tool, "-l", "127.0.0.1:%d" % d.port, "--fdname=http",
                        "-E", "PIPELIT_IDLE_TIMEOUT_SEC=1"] + d.command()
                d.start(argv=argv)
                c = d.client(d.login())
                slug = c.post("/workflows/", {"name": "waits"}).body["slug"]
                # A wait delays its successors: the reply runs 3 s later.
                for node in ({"node_id": "t", "component_type": "trigger_manual"},
                             {"node_id": "w", "component_type": "wait",
                              "config": {"extra_config": {"duration": 3, "unit": "seconds"}}},
                             {"node_id": "r", "component_type": "reply_chat",
                              "config": {"extra_config": {"message": "done"}}}):
                        self.assertEqual(c.post("/workflows/%s/nodes/" % slug, node).status, 201)
                for source, target in (("t", "w"), ("w", "r")):
                        r = c.post("/workflows/%s/edges/" % slug,
                                   {"source_node_id": source, "target_node_id": target})
                        self.assertEqual(r.status, 201, r)
                r = c.post("/workflows/%s/execute/" % slug, {"text": "x"})
                self.assertEqual(r.status, 202, r)
                c.close()
                # Idle for HTTP, but the wait is unfinished work: no exit before it ends.
                self.assertIsNone(d.wait(2.2), "exited during the wait:\n" + d.log())
                rc = d.wait(10)
                self.assertEqual(rc, 0, "did not exit after the execution ended:\n" + d.log())
                self.assertIn("Idle for 1 s", d.log())

        def test_idle_timeout_is_ignored_without_socket_activation(self):
                # Started by hand nothing would bring it back: it must keep serving.
                d = self.daemon()
                d.start(env={"PIPELIT_IDLE_TIMEOUT_SEC": "1"})
                time.sleep(1.6)
                self.assertEqual(d.client().get("/health").status, 200, d.log())
                self.stop(d)

        def test_listen_unix(self):
                d = self.daemon()
                path = os.path.join(d.base, "api.sock")
                d.extra_args += ["--listen-unix", path]
                d.create_admin()
                d.start()
                unix = Client(unix_path=path)
                r = unix.get("/health")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["status"], "ok")
                key = d.login(client=unix)
                unix.token = key
                r = unix.post("/workflows/", {"name": "over unix"})
                self.assertEqual(r.status, 201, r)
                r = d.client(key).get("/workflows/%s/" % r.body["slug"])
                self.assertEqual(r.status, 200, r)
                unix.close()
                self.stop(d)

        # --- signals -------------------------------------------------------------------

        def test_sigterm_lets_a_slow_request_finish(self):
                d = self.daemon()
                d.create_admin()
                d.start()
                key = d.login()
                body = ('{"name": "slow upload", "description": "%s"}' % ("z" * 60000)).encode()
                head = ("POST /api/v1/workflows/ HTTP/1.1\r\nHost: localhost\r\n"
                        "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %d\r\n\r\n" % (key, len(body))).encode()
                s = d.client().raw_socket(timeout=10)
                self.addCleanup(s.close)
                s.sendall(head + body[:1000])
                time.sleep(0.3)
                d.signal(signal.SIGTERM)
                time.sleep(0.5)
                self.assertTrue(d.running(), "pipelitd quit with a request in flight:\n" + d.log())
                for i in range(1000, len(body), 10000):
                        s.sendall(body[i:i + 10000])
                        time.sleep(0.1)
                data = read_all(s)
                self.assertEqual(raw_status(data), 201, data[:500])
                self.assertEqual(d.wait(harness.STOP_TIMEOUT), 0, d.log())
                # It was committed: a new daemon on the same database finds it.
                d.start()
                r = d.client(key).get("/workflows/slow-upload/")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(len(r.body["description"]), 60000)
                self.stop(d)

        def test_sigterm_when_idle(self):
                d = self.daemon()
                d.start()
                start = time.monotonic()
                self.stop(d)
                self.assertLess(time.monotonic() - start, 5)

        # --- schema versions -----------------------------------------------------------

        def test_newer_schema_is_refused(self):
                d = self.daemon()
                d.start()
                self.stop(d)
                sql = ("INSERT INTO schema_migrations (version, name, applied_at) "
                       "SELECT 9999, 'from-the-future', applied_at FROM schema_migrations LIMIT 1")
                if harness.BACKEND == "sqlite":
                        db = sqlite3.connect(os.path.join(d.state_dir, "pipelit.db"))
                        with db:
                                db.execute(sql)
                        db.close()
                else:
                        harness.postgres().psql(d.database_name, sql)
                log = self.start_expect_failure(d)
                self.assertIn("9999", log)
                shipped = shipped_schema_version()
                if shipped is not None:
                        self.assertRegex(log, r"\b0*%d\b" % shipped)

        @unittest.skipUnless(harness.BACKEND == "postgresql", "postgresql only")
        def test_health_reports_a_lost_database(self):
                server = harness.PostgresServer()
                self.addCleanup(server.stop)
                server.start()
                d = self.daemon(database=False,
                                args=["--database", server.create_database("lost")])
                d.start()
                server.stop()
                r = d.client().get("/health")
                self.assertEqual(r.status, 503, r)
                self.assertEqual(r.body["status"], "degraded")
                self.assertEqual(r.body["database"], "error")
                self.stop(d)

        # --- static files ----------------------------------------------------------------

        def test_static_directory(self):
                d = self.daemon()
                static = os.path.join(d.base, "ui")
                index = "<!doctype html><title>pipelit</title><div id=root></div>\n"
                d.write_file("ui/index.html", index)
                d.write_file("ui/assets/app.js", "console.log('hi');\n")
                d.write_file("ui/assets/site.css", "body { margin: 0 }\n")
                d.write_file("secret.txt", "TOP-SECRET-CONTENT\n")
                conf = d.write_file("static.conf", "[Server]\nStaticDirectory=%s\n" % static)
                d.extra_args += ["--config", conf]
                d.start()
                c = d.client()
                r = c.get("/", absolute=True)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, index)
                self.assertIn("text/html", r.headers.get("Content-Type", ""))
                r = c.get("/assets/app.js", absolute=True)
                self.assertEqual((r.status, r.body), (200, "console.log('hi');\n"))
                self.assertIn("javascript", r.headers.get("Content-Type", ""))
                r = c.get("/assets/site.css", absolute=True)
                self.assertEqual(r.status, 200, r)
                self.assertIn("text/css", r.headers.get("Content-Type", ""))
                # The API is still the API.
                r = c.get("/health")
                self.assertEqual((r.status, r.body["status"]), (200, "ok"))
                self.assertEqual(c.get("/workflows/node-types/").status, 200)
                self.assertEqual(c.get("/api/v1/nope/", absolute=True).status, 404)
                # Nothing outside the directory.
                for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt",
                             "/assets/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt",
                             "//" + os.path.join(d.base, "secret.txt").lstrip("/")):
                        with self.subTest(path=path):
                                data = c.raw(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode(),
                                             timeout=3)
                                self.assertNotIn(b"TOP-SECRET-CONTENT", data)
                self.stop(d)
