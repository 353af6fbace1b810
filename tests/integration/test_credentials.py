"""Credentials: CRUD of every type, validation, ownership, secrets sealed at rest and masked
in every answer, the secret key file, and test/ and models/ against a fake provider that
speaks OpenAI's, Anthropic's, Telegram's, SearXNG's and git's real wire formats."""

import base64
import glob
import http.server
import json
import os
import secrets
import shutil
import signal
import stat
import tempfile
import threading
import time
import unittest
import urllib.parse

import harness
from harness import Daemon, DaemonError, DaemonTestCase, free_port, unique

CREDENTIAL_FIELDS = {"id", "name", "credential_type", "owner_id", "detail", "created_at",
                     "updated_at"}
ANTHROPIC_VERSION = "2023-06-01"


def new_secret(prefix, n=40):
        return prefix + secrets.token_hex(n // 2)


def masked(secret):
        return secret[:4] + "****" + secret[-4:] if len(secret) >= 24 else "****"


class FakeProvider:
        """One local server for every service a credential may name. Keys it accepts are
        registered per service; every request is recorded with its headers.

          /openai/v1/models               OpenAI: Authorization: Bearer, OpenAI-Organization
          /anthropic/v1/models            Anthropic: x-api-key, anthropic-version
          /telegram/bot<token>/getMe      the Bot API
          /searxng/search                 SearXNG's JSON (format=json)
          /git/<repo>/info/refs           git smart HTTP with basic auth
          /broken/v1/models               500, repeating the Authorization header it got
          /slow/v1/models                 OpenAI's list after `slow_seconds`
        """

        def __init__(self):
                self.lock = threading.Lock()
                self.requests = []
                self.openai_keys = set()
                self.openai_org = None           # required Organization when set
                self.required_headers = {}       # extra headers the OpenAI side insists on
                self.anthropic_keys = set()
                self.telegram_tokens = set()
                self.git_logins = set()          # (user, token)
                self.slow_seconds = 0
                self.slow_in_flight = self.slow_most_in_flight = 0
                outer = self

                class Handler(http.server.BaseHTTPRequestHandler):
                        protocol_version = "HTTP/1.1"

                        def do_GET(self):
                                url = urllib.parse.urlsplit(self.path)
                                with outer.lock:
                                        outer.requests.append({"path": url.path, "query": url.query,
                                                               "headers": dict(self.headers.items())})
                                status, body, ctype = outer.route(url, self.headers)
                                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                                try:
                                        self.send_response(status)
                                        self.send_header("Content-Type", ctype)
                                        self.send_header("Content-Length", str(len(data)))
                                        if status == 401 and url.path.startswith("/git/"):
                                                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                                        self.end_headers()
                                        self.wfile.write(data)
                                except OSError:
                                        pass

                        def log_message(self, *args):
                                pass

                self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
                self.server.daemon_threads = True
                self.port = self.server.server_address[1]
                self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
                self.thread.start()

        def url(self, path=""):
                return "http://127.0.0.1:%d%s" % (self.port, path)

        def stop(self):
                self.server.shutdown()
                self.server.server_close()

        def last(self, prefix):
                with self.lock:
                        for r in reversed(self.requests):
                                if r["path"].startswith(prefix):
                                        return r
                return None

        @staticmethod
        def openai_models():
                return {"object": "list", "data": [
                        {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
                        {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
                        {"id": "dall-e-3", "object": "model", "created": 1698785189, "owned_by": "system"},
                ]}

        def route(self, url, headers):
                path = url.path
                query = urllib.parse.parse_qs(url.query)
                js = "application/json"
                if path in ("/openai/v1/models", "/slow/v1/models"):
                        if path == "/slow/v1/models":
                                with self.lock:
                                        self.slow_in_flight += 1
                                        self.slow_most_in_flight = max(self.slow_most_in_flight, self.slow_in_flight)
                                time.sleep(self.slow_seconds)
                                with self.lock:
                                        self.slow_in_flight -= 1
                        auth = headers.get("Authorization", "")
                        key = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
                        if key not in self.openai_keys:
                                return 401, {"error": {
                                        "message": "Incorrect API key provided: %s. You can find your API key "
                                                   "at https://platform.openai.com/account/api-keys."
                                                   % ((key or "")[:3] + "*" * 10),
                                        "type": "invalid_request_error", "param": None,
                                        "code": "invalid_api_key"}}, js
                        if self.openai_org and headers.get("OpenAI-Organization") != self.openai_org:
                                return 401, {"error": {"message": "No such organization.",
                                                       "type": "invalid_request_error", "param": None,
                                                       "code": "invalid_organization"}}, js
                        for name, value in self.required_headers.items():
                                if headers.get(name) != value:
                                        return 403, {"error": {"message": "Proxy refused the request.",
                                                               "type": "forbidden", "param": None,
                                                               "code": None}}, js
                        return 200, self.openai_models(), js
                if path == "/anthropic/v1/models":
                        if headers.get("anthropic-version") != ANTHROPIC_VERSION:
                                return 400, {"type": "error", "error": {
                                        "type": "invalid_request_error",
                                        "message": "anthropic-version: header is required"}}, js
                        if headers.get("x-api-key") not in self.anthropic_keys:
                                return 401, {"type": "error", "error": {
                                        "type": "authentication_error", "message": "invalid x-api-key"}}, js
                        if query.get("limit") != ["1000"]:
                                return 400, {"type": "error", "error": {
                                        "type": "invalid_request_error", "message": "unexpected limit"}}, js
                        return 200, {"data": [
                                {"type": "model", "id": "claude-sonnet-4-20250514", "display_name": "Claude Sonnet 4",
                                 "created_at": "2025-05-22T00:00:00Z"},
                                {"type": "model", "id": "claude-3-5-haiku-20241022", "display_name": "Claude Haiku 3.5",
                                 "created_at": "2024-10-22T00:00:00Z"},
                        ], "has_more": False, "first_id": "claude-sonnet-4-20250514",
                                "last_id": "claude-3-5-haiku-20241022"}, js
                if path.startswith("/telegram/bot") and path.endswith("/getMe"):
                        token = path[len("/telegram/bot"):-len("/getMe")]
                        if token not in self.telegram_tokens:
                                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, js
                        return 200, {"ok": True, "result": {
                                "id": int(token.split(":")[0]), "is_bot": True, "first_name": "Pipelit Test",
                                "username": "pipelit_test_bot", "can_join_groups": True,
                                "can_read_all_group_messages": False, "supports_inline_queries": False}}, js
                if path == "/searxng/search":
                        if query.get("format") != ["json"]:
                                return 403, b"Forbidden", "text/html"
                        return 200, {"query": query.get("q", [""])[0], "number_of_results": 0, "results": [
                                {"url": "https://example.org/", "title": "Example", "content": "An example.",
                                 "engine": "duckduckgo", "score": 1.0},
                        ], "answers": [], "corrections": [], "infoboxes": [], "suggestions": [],
                                "unresponsive_engines": []}, js
                if path.startswith("/git/") and path.endswith("/info/refs"):
                        auth = headers.get("Authorization", "")
                        login = None
                        if auth.startswith("Basic "):
                                user, _, token = base64.b64decode(auth[6:]).decode().partition(":")
                                login = (user, token)
                        if query.get("service") != ["git-upload-pack"] or login not in self.git_logins:
                                return 401, b"Authentication required", "text/plain"
                        body = b"001e# service=git-upload-pack\n0000" \
                               b"003f" + b"0" * 40 + b" refs/heads/main\n0000"
                        return 200, body, "application/x-git-upload-pack-advertisement"
                if path == "/broken/v1/models":
                        return 500, {"error": {"message": "Upstream exploded while checking '%s'"
                                                          % headers.get("Authorization", ""),
                                               "type": "server_error", "param": None, "code": None}}, js
                return 404, {"detail": "Not Found"}, js


class CredentialsTest(DaemonTestCase):
        @classmethod
        def setUpClass(cls):
                cls.fake = FakeProvider()
                cls.secrets = []
                super().setUpClass()

        @classmethod
        def tearDownClass(cls):
                try:
                        super().tearDownClass()
                finally:
                        cls.fake.stop()

        # helpers -----------------------------------------------------------------------

        def secret(self, prefix="sk-", n=48):
                s = new_secret(prefix, n)
                type(self).secrets.append(s)
                return s

        def create(self, credential_type, detail, client=None, name=None):
                r = (client or self.admin).post("/credentials/", {
                        "name": name or unique("cred "), "credential_type": credential_type,
                        "detail": detail})
                self.assertEqual(r.status, 201, r)
                self.assertEqual(set(r.body), CREDENTIAL_FIELDS, r)
                self.assertNoSecrets(r)
                return r.body

        def assertNoSecrets(self, r):
                """No secret of this class appears in clear in a response."""
                raw = r.raw.decode("utf-8", "replace")
                for s in type(self).secrets:
                        self.assertNotIn(s, raw)

        def storage_text(self):
                """Everything the database holds, as text we can search: the SQLite files'
                bytes (WAL included), or PostgreSQL's dump."""
                if harness.BACKEND == "postgresql":
                        pg = harness.postgres()
                        p = pg._run("pg_dump", "-h", pg.sockdir, "-p", str(pg.port), "-U", "postgres",
                                    "--data-only", self.daemon.database_name)
                        return p.stdout.decode("utf-8", "replace")
                data = b""
                for path in sorted(glob.glob(self.daemon.database_name + "*")):
                        with open(path, "rb") as f:
                                data += f.read()
                return data.decode("latin-1")

        def openai(self, key=None, **detail):
                key = key or self.secret("sk-proj-")
                self.fake.openai_keys.add(key)
                d = {"provider_type": "openai_compatible", "api_key": key,
                     "base_url": self.fake.url("/openai/v1")}
                d.update(detail)
                return d, key

        def check(self, cred_id, client=None):
                r = (client or self.admin).post("/credentials/%d/test/" % cred_id)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(set(r.body), {"ok", "error", "detail"}, r)
                self.assertNoSecrets(r)
                return r.body

        # CRUD --------------------------------------------------------------------------

        def test_llm_crud_and_masking(self):
                key = self.secret("sk-proj-")
                header = self.secret("hdr-")
                c = self.create("llm", {"provider_type": "openai", "api_key": key,
                                        "organization_id": "org-123",
                                        "custom_headers": {"X-Proxy-Key": header, "X-Short": "abc"}})
                self.assertEqual(c["credential_type"], "llm")
                self.assertEqual(c["owner_id"], self.admin_id)
                self.assertTimestamp(c["created_at"])
                self.assertEqual(c["detail"], {
                        "provider_type": "openai", "api_key": masked(key), "base_url": None,
                        "organization_id": "org-123",
                        "custom_headers": {"X-Proxy-Key": masked(header), "X-Short": "****"}})
                self.assertTrue(c["detail"]["api_key"].startswith("sk-p****"))

                r = self.admin.get("/credentials/%d/" % c["id"])
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, c)
                self.assertNoSecrets(r)

                r = self.admin.get("/credentials/?limit=1000")
                self.assertEqual(r.status, 200, r)
                self.assertIn(c["id"], [i["id"] for i in r.body["items"]])
                self.assertGreaterEqual(r.body["total"], 1)
                self.assertNoSecrets(r)

                r = self.admin.patch("/credentials/%d/" % c["id"], {"name": "renamed"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["name"], "renamed")
                self.assertEqual(r.body["detail"], c["detail"])
                self.assertNoSecrets(r)

                r = self.admin.delete("/credentials/%d/" % c["id"])
                self.assertEqual(r.status, 204, r)
                self.assertEqual(self.admin.get("/credentials/%d/" % c["id"]).status, 404)
                self.assertEqual(self.admin.delete("/credentials/%d/" % c["id"]).status, 404)

        def test_every_type(self):
                short = "short-key"
                c = self.create("llm", {"provider_type": "anthropic", "api_key": short})
                self.assertEqual(c["detail"]["api_key"], "****")
                c = self.create("llm", {"provider_type": "openai_compatible",
                                        "base_url": "http://localhost:11434/v1"})
                self.assertIsNone(c["detail"]["api_key"])
                self.assertEqual(c["detail"]["custom_headers"], {})

                token = "123456789:" + self.secret("AAH", 34)
                c = self.create("telegram", {"bot_token": token})
                self.assertEqual(c["detail"], {"bot_token": masked(token), "base_url": None})

                c = self.create("tool", {"tool_type": "searxng", "config": {"url": "http://searx.local:8080"},
                                         "is_preferred": True})
                self.assertEqual(c["detail"], {"tool_type": "searxng",
                                               "config": {"url": "http://searx.local:8080"},
                                               "is_preferred": True})

                git_token = self.secret("ghp_", 36)
                hook = self.secret("whsec-")
                c = self.create("git", {"credential_type": "token", "provider": "github", "username": "bot",
                                        "url": "https://github.com/example/repo.git",
                                        "access_token": git_token, "webhook_secret": hook})
                self.assertEqual(c["detail"], {
                        "credential_type": "token", "provider": "github", "username": "bot",
                        "url": "https://github.com/example/repo.git", "access_token": masked(git_token),
                        "ssh_private_key": None, "webhook_secret": masked(hook)})

                ssh_key = "-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n" % \
                          self.secret("b3BlbnNzaC1rZXk", 200)
                c = self.create("git", {"credential_type": "ssh_key", "url": "git@github.com:example/repo.git",
                                        "ssh_private_key": ssh_key})
                self.assertEqual(c["detail"]["ssh_private_key"], "****")
                r = self.admin.get("/credentials/%d/" % c["id"])
                self.assertEqual(r.body["detail"]["ssh_private_key"], "****")

                # None of them in clear in the database.
                text = self.storage_text()
                for s in (token, git_token, hook, ssh_key.split("\n")[1]):
                        self.assertNotIn(s, text)

        def test_secrets_not_in_database_or_log(self):
                d, key = self.openai()
                header = self.secret("proxy-")
                d["custom_headers"] = {"X-Proxy-Key": header}
                self.fake.required_headers = {}
                c = self.create("llm", d)
                r = self.admin.patch("/credentials/%d/" % c["id"], {"detail": {"api_key": key}})
                self.assertEqual(r.status, 200, r)
                text = self.storage_text()
                self.assertIn("v1:", text)
                self.assertIn(c["name"], text)
                for s in (key, header):
                        self.assertNotIn(s, text)
                        self.assertNotIn(s, self.daemon.log())

        # validation --------------------------------------------------------------------

        def test_validation(self):
                def bad(body, field):
                        r = self.admin.post("/credentials/", body)
                        self.assertValidation(r, field)
                        self.assertNoSecrets(r)

                ok = {"provider_type": "openai", "api_key": "sk-x"}
                bad({"credential_type": "llm", "detail": ok}, "name")
                bad({"name": " ", "credential_type": "llm", "detail": ok}, "name")
                bad({"name": "x" * 256, "credential_type": "llm", "detail": ok}, "name")
                bad({"name": "x", "credential_type": "gateway", "detail": ok}, "credential_type")
                bad({"name": "x", "credential_type": "llm"}, "detail")
                bad({"name": "x", "credential_type": "llm", "detail": []}, "detail")
                bad({"name": "x", "credential_type": "llm", "detail": {"provider_type": "glm", "api_key": "k"}},
                    ["detail", "provider_type"])
                bad({"name": "x", "credential_type": "llm", "detail": {"provider_type": "openai"}},
                    ["detail", "api_key"])
                bad({"name": "x", "credential_type": "llm", "detail": {"provider_type": "openai", "apikey": "k"}},
                    ["detail", "apikey"])
                bad({"name": "x", "credential_type": "llm", "detail": {"provider_type": "openai", "api_key": 5}},
                    ["detail", "api_key"])
                bad({"name": "x", "credential_type": "llm", "detail": {"provider_type": "openai_compatible"}},
                    ["detail", "base_url"])
                for url in ("file:///etc/passwd", "ftp://host/", "http://", "not a url",
                            "http://user:pw@host/v1", "http://host/v1#frag", "javascript:alert(1)"):
                        bad({"name": "x", "credential_type": "llm",
                             "detail": {"provider_type": "openai_compatible", "base_url": url}},
                            ["detail", "base_url"])
                bad({"name": "x", "credential_type": "llm",
                     "detail": dict(ok, custom_headers={"X-Evil": "a\r\nHost: other"})},
                    ["detail", "custom_headers", "X-Evil"])
                bad({"name": "x", "credential_type": "llm", "detail": dict(ok, custom_headers={"Bad Name": "v"})},
                    ["detail", "custom_headers", "Bad Name"])
                bad({"name": "x", "credential_type": "llm", "detail": dict(ok, custom_headers={"Host": "v"})},
                    ["detail", "custom_headers", "Host"])
                bad({"name": "x", "credential_type": "llm", "detail": dict(ok, custom_headers={"X-N": 1})},
                    ["detail", "custom_headers", "X-N"])
                bad({"name": "x", "credential_type": "llm",
                     "detail": dict(ok, custom_headers={"X-%d" % i: "v" for i in range(33)})},
                    ["detail", "custom_headers"])
                bad({"name": "x", "credential_type": "llm", "detail": {"provider_type": "openai",
                                                                      "api_key": "sk-\nline"}},
                    ["detail", "api_key"])
                bad({"name": "x", "credential_type": "telegram", "detail": {}}, ["detail", "bot_token"])
                for token in ("abc", "123456", "123:abc/../x", "123:abc def", ":abc"):
                        bad({"name": "x", "credential_type": "telegram", "detail": {"bot_token": token}},
                            ["detail", "bot_token"])
                bad({"name": "x", "credential_type": "tool", "detail": {"tool_type": "searxng"}},
                    ["detail", "config"])
                bad({"name": "x", "credential_type": "tool", "detail": {"tool_type": "searxng", "config": {}}},
                    ["detail", "config", "url"])
                bad({"name": "x", "credential_type": "tool",
                     "detail": {"tool_type": "searxng", "config": {"url": "http://s", "token": "x"}}},
                    ["detail", "config", "token"])
                bad({"name": "x", "credential_type": "tool", "detail": {"tool_type": "google", "config": {"url": "http://s"}}},
                    ["detail", "tool_type"])
                bad({"name": "x", "credential_type": "git", "detail": {"credential_type": "token"}},
                    ["detail", "access_token"])
                bad({"name": "x", "credential_type": "git", "detail": {"credential_type": "ssh_key",
                                                                      "ssh_private_key": "hello"}},
                    ["detail", "ssh_private_key"])
                bad({"name": "x", "credential_type": "git", "detail": {"credential_type": "token",
                                                                      "access_token": "t", "username": "a:b"}},
                    ["detail", "username"])
                bad({"name": "x", "credential_type": "git", "detail": {"credential_type": "app"}},
                    ["detail", "credential_type"])

                # Every problem at once, not only the first.
                r = self.admin.post("/credentials/", {"name": "", "credential_type": "llm",
                                                      "detail": {"provider_type": "openai", "x": 1}})
                self.assertEqual(r.status, 422, r)
                locs = [tuple(e["loc"]) for e in r.body["detail"]]
                self.assertIn(("body", "name"), locs)
                self.assertIn(("body", "detail", "x"), locs)

                self.assertEqual(self.admin.post("/credentials/", raw_body="{").status, 400)
                self.assertEqual(self.admin.post("/credentials/", raw_body="[]").status, 422)
                self.assertHealthy()

        # PATCH -------------------------------------------------------------------------

        def test_patch_keeps_and_replaces_secrets(self):
                header = self.secret("proxy-")
                d, key = self.openai(custom_headers={"X-Proxy-Key": header})
                c = self.create("llm", d)
                url = "/credentials/%d/" % c["id"]
                self.fake.required_headers = {"X-Proxy-Key": header}
                try:
                        # The answer sent back as it came: nothing changes.
                        r = self.admin.patch(url, {"detail": c["detail"]})
                        self.assertEqual(r.status, 200, r)
                        self.assertEqual(r.body["detail"], c["detail"])
                        self.assertTrue(self.check(c["id"])["ok"])
                        self.assertEqual(self.fake.last("/openai/")["headers"].get("Authorization"),
                                         "Bearer " + key)

                        # A new key replaces the old one.
                        new_key = self.secret("sk-proj-")
                        self.fake.openai_keys.add(new_key)
                        r = self.admin.patch(url, {"detail": {"api_key": new_key}})
                        self.assertEqual(r.status, 200, r)
                        self.assertEqual(r.body["detail"]["api_key"], masked(new_key))
                        self.assertEqual(r.body["detail"]["custom_headers"], {"X-Proxy-Key": masked(header)})
                        self.assertNoSecrets(r)
                        self.assertTrue(self.check(c["id"])["ok"])
                        self.assertEqual(self.fake.last("/openai/")["headers"].get("Authorization"),
                                         "Bearer " + new_key)
                finally:
                        self.fake.required_headers = {}

                # A required secret cannot be cleared; the type cannot change.
                r = self.admin.patch(url, {"detail": {"provider_type": "openai", "api_key": None,
                                                      "base_url": None}})
                self.assertValidation(r, ["detail", "api_key"])
                r = self.admin.patch(url, {"credential_type": "git"})
                self.assertValidation(r, "credential_type")
                r = self.admin.patch(url, {"detail": {"bogus": 1}})
                self.assertValidation(r, ["detail", "bogus"])

                # Headers cleared with null.
                r = self.admin.patch(url, {"detail": {"custom_headers": None}})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["detail"]["custom_headers"], {})

        def test_patch_new_destination_needs_secret_again(self):
                d, key = self.openai()
                c = self.create("llm", d)
                url = "/credentials/%d/" % c["id"]
                elsewhere = "http://127.0.0.1:%d/v1" % free_port()

                # Moving the key to another address without knowing it: refused.
                for detail in ({"base_url": elsewhere},
                               {"base_url": elsewhere, "api_key": c["detail"]["api_key"]},
                               {"provider_type": "openai", "base_url": None}):
                        r = self.admin.patch(url, {"detail": detail})
                        self.assertValidation(r, ["detail", "api_key"])
                r = self.admin.get(url)
                self.assertEqual(r.body["detail"]["base_url"], self.fake.url("/openai/v1"))

                # With the key given again in clear it is allowed.
                r = self.admin.patch(url, {"detail": {"base_url": elsewhere, "api_key": key}})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["detail"]["base_url"], elsewhere)

                # Telegram's Bot API server and git's url count the same way.
                token = "42:" + self.secret("tok", 30)
                t = self.create("telegram", {"bot_token": token})
                r = self.admin.patch("/credentials/%d/" % t["id"], {"detail": {"base_url": "http://evil.example"}})
                self.assertValidation(r, ["detail", "bot_token"])
                g = self.create("git", {"credential_type": "token", "access_token": self.secret("ghp_"),
                                        "url": "https://git.example/repo.git"})
                r = self.admin.patch("/credentials/%d/" % g["id"], {"detail": {"url": "https://evil.example/r.git"}})
                self.assertValidation(r, ["detail", "access_token"])

        # ownership ---------------------------------------------------------------------

        def test_owner_scoping(self):
                _, alice = self.make_user()
                bob_out, bob = self.make_user()
                d, _ = self.openai()
                c = self.create("llm", d, client=alice)
                url = "/credentials/%d/" % c["id"]

                for r in (bob.get(url), bob.patch(url, {"name": "mine"}), bob.delete(url),
                          bob.post(url + "test/"), bob.get(url + "models/")):
                        self.assertEqual(r.status, 404, r)
                        self.assertEqual(r.body, {"detail": "Credential not found."}, r)
                r = bob.get("/credentials/")
                self.assertEqual(r.status, 200, r)
                self.assertNotIn(c["id"], [i["id"] for i in r.body["items"]])
                r = bob.post("/credentials/batch-delete/", {"ids": [c["id"]]})
                self.assertEqual(r.body, {"deleted": 0}, r)

                # The owner and an admin see it.
                self.assertEqual(alice.get(url).status, 200)
                r = self.admin.get(url)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["owner_id"], c["owner_id"])

                mine = self.create("llm", self.openai()[0], client=bob)
                r = bob.get("/credentials/")
                self.assertEqual([i["id"] for i in r.body["items"]], [mine["id"]])
                self.assertEqual(r.body["total"], 1)

                r = alice.post("/credentials/batch-delete/", {"ids": [c["id"], mine["id"], 987654321]})
                self.assertEqual(r.body, {"deleted": 1}, r)
                self.assertEqual(bob.get("/credentials/%d/" % mine["id"]).status, 200)
                self.assertEqual(alice.get(url).status, 404)

                self.assertNotAuthenticated(self.anon().get("/credentials/"))

        def test_nodes_refer_to_own_credentials(self):
                _, alice = self.make_user()
                _, bob = self.make_user()
                mine = self.create("llm", self.openai()[0], client=alice)
                theirs = self.create("llm", self.openai()[0], client=bob)
                bot = self.create("telegram", {"bot_token": "5:" + self.secret("t", 30)}, client=alice)
                wf = self.make_workflow(client=alice)
                url = "/workflows/%s/nodes/" % wf["slug"]

                r = alice.post(url, {"component_type": "ai_model",
                                     "config": {"llm_credential_id": mine["id"], "model_name": "gpt-4o"}})
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.body["config"]["llm_credential_id"], mine["id"])
                # Someone else's credential, or one of another type, is refused.
                for cred in (theirs, bot):
                        r = alice.post(url, {"component_type": "ai_model",
                                             "config": {"llm_credential_id": cred["id"], "model_name": "m"}})
                        self.assertValidation(r, ["config", "llm_credential_id"])

                # Deleting the credential leaves the node without it.
                self.assertEqual(alice.delete("/credentials/%d/" % mine["id"]).status, 204)
                r = alice.get("/workflows/%s/" % wf["slug"])
                self.assertIsNone(r.body["nodes"][0]["config"]["llm_credential_id"])

        def test_batch_delete_validation(self):
                self.assertValidation(self.admin.post("/credentials/batch-delete/", {}), "ids")
                self.assertValidation(self.admin.post("/credentials/batch-delete/", {"ids": ["1"]}), ["ids", 0])
                self.assertValidation(self.admin.post("/credentials/batch-delete/", {"ids": list(range(1001))}),
                                      "ids")
                for path in ("/credentials/abc/", "/credentials/0/", "/credentials/-1/",
                             "/credentials/99999999999999999999999/", "/credentials/1.5/test/"):
                        r = self.admin.get(path)
                        self.assertIn(r.status, (404, 405), r)
                self.assertHealthy()

        # test/ and models/ ---------------------------------------------------------------

        def test_openai_test_and_models(self):
                d, key = self.openai(organization_id="org-pipelit")
                self.fake.openai_org = "org-pipelit"
                try:
                        c = self.create("llm", d)
                        t = self.check(c["id"])
                        self.assertEqual(t, {"ok": True, "error": None,
                                             "detail": "Authenticated; 3 models available."})
                        seen = self.fake.last("/openai/v1/models")["headers"]
                        self.assertEqual(seen.get("Authorization"), "Bearer " + key)
                        self.assertEqual(seen.get("OpenAI-Organization"), "org-pipelit")

                        r = self.admin.get("/credentials/%d/models/" % c["id"])
                        self.assertEqual(r.status, 200, r)
                        self.assertEqual(r.body, [{"id": "dall-e-3", "name": "dall-e-3"},
                                                  {"id": "gpt-4o", "name": "gpt-4o"},
                                                  {"id": "gpt-4o-mini", "name": "gpt-4o-mini"}])
                finally:
                        self.fake.openai_org = None

        def test_anthropic_test_and_models(self):
                key = self.secret("sk-ant-api03-")
                self.fake.anthropic_keys.add(key)
                c = self.create("llm", {"provider_type": "anthropic", "api_key": key,
                                        "base_url": self.fake.url("/anthropic")})
                self.assertEqual(self.check(c["id"]), {"ok": True, "error": None,
                                                       "detail": "Authenticated; 2 models available."})
                seen = self.fake.last("/anthropic/v1/models")["headers"]
                self.assertEqual(seen.get("x-api-key"), key)
                self.assertEqual(seen.get("anthropic-version"), ANTHROPIC_VERSION)
                self.assertNotIn("Authorization", seen)

                r = self.admin.get("/credentials/%d/models/" % c["id"])
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, [{"id": "claude-sonnet-4-20250514", "name": "Claude Sonnet 4"},
                                          {"id": "claude-3-5-haiku-20241022", "name": "Claude Haiku 3.5"}])

                # A base URL that already ends in /v1 gets no second one.
                r = self.admin.patch("/credentials/%d/" % c["id"],
                                     {"detail": {"base_url": self.fake.url("/anthropic/v1/"), "api_key": key}})
                self.assertEqual(r.status, 200, r)
                self.assertTrue(self.check(c["id"])["ok"])

        def test_authentication_failed(self):
                wrong = self.secret("sk-wrong-")
                c = self.create("llm", {"provider_type": "openai_compatible", "api_key": wrong,
                                        "base_url": self.fake.url("/openai/v1")})
                t = self.check(c["id"])
                self.assertFalse(t["ok"])
                self.assertEqual(t["error"], "Authentication failed")
                self.assertIn("401", t["detail"])
                self.assertIn("Incorrect API key provided", t["detail"])
                r = self.admin.get("/credentials/%d/models/" % c["id"])
                self.assertEqual(r.status, 502, r)
                self.assertEqual(r.body, {"detail": "Authentication failed"})

                a = self.create("llm", {"provider_type": "anthropic", "api_key": self.secret("sk-ant-"),
                                        "base_url": self.fake.url("/anthropic")})
                t = self.check(a["id"])
                self.assertEqual((t["ok"], t["error"]), (False, "Authentication failed"))
                self.assertIn("invalid x-api-key", t["detail"])

        def test_cannot_reach(self):
                port = free_port()
                c = self.create("llm", {"provider_type": "openai_compatible", "api_key": self.secret("sk-"),
                                        "base_url": "http://127.0.0.1:%d/v1" % port})
                t = self.check(c["id"])
                self.assertFalse(t["ok"])
                self.assertTrue(t["error"].startswith("Cannot reach http://127.0.0.1:%d: " % port), t)
                r = self.admin.get("/credentials/%d/models/" % c["id"])
                self.assertEqual(r.status, 502, r)
                self.assertTrue(r.body["detail"].startswith("Cannot reach "), r)

                # A Telegram token travels in the path, which is never shown.
                token = "777:" + self.secret("unreach", 30)
                tg = self.create("telegram", {"bot_token": token, "base_url": "http://127.0.0.1:%d" % port})
                t = self.check(tg["id"])
                self.assertEqual(t["ok"], False)
                self.assertIn("Cannot reach http://127.0.0.1:%d:" % port, t["error"])
                self.assertNotIn("777", t["error"])

        def test_provider_error_is_reported_without_secret(self):
                key = self.secret("sk-echo-")
                c = self.create("llm", {"provider_type": "openai_compatible", "api_key": key,
                                        "base_url": self.fake.url("/broken/v1")})
                t = self.check(c["id"])
                self.assertFalse(t["ok"])
                self.assertTrue(t["error"].startswith("The provider answered 500: Upstream exploded"), t)
                # The server repeated the Authorization header; the key is masked out.
                self.assertIn("Bearer ****", t["error"])
                self.assertNotIn(key, t["error"])

                c = self.create("llm", {"provider_type": "openai_compatible", "api_key": key,
                                        "base_url": self.fake.url("/nothing-here/v1")})
                t = self.check(c["id"])
                self.assertEqual(t["error"], "The provider answered 404: Not Found")

        def test_telegram_searxng_git(self):
                token = "123456789:" + self.secret("AAH", 34)
                self.fake.telegram_tokens.add(token)
                tg = self.create("telegram", {"bot_token": token, "base_url": self.fake.url("/telegram")})
                self.assertEqual(self.check(tg["id"]), {"ok": True, "error": None,
                                                        "detail": "Bot @pipelit_test_bot (id 123456789)."})
                other = self.create("telegram", {"bot_token": "1:" + self.secret("zz", 30),
                                                 "base_url": self.fake.url("/telegram")})
                t = self.check(other["id"])
                self.assertEqual((t["ok"], t["error"]), (False, "Authentication failed"))
                r = self.admin.get("/credentials/%d/models/" % tg["id"])
                self.assertEqual(r.status, 422, r)

                s = self.create("tool", {"tool_type": "searxng", "config": {"url": self.fake.url("/searxng/")}})
                t = self.check(s["id"])
                self.assertTrue(t["ok"], t)
                self.assertEqual(t["detail"], "SearXNG answered a test search with 1 result.")
                self.assertEqual(self.fake.last("/searxng/search")["query"], "q=pipelit&format=json")
                bad = self.create("tool", {"tool_type": "searxng", "config": {"url": self.fake.url("/nope")}})
                t = self.check(bad["id"])
                self.assertEqual((t["ok"], t["error"]), (False, "The provider answered 404: Not Found"))

                git_token = self.secret("ghp_", 36)
                self.fake.git_logins.add(("bot", git_token))
                g = self.create("git", {"credential_type": "token", "username": "bot", "access_token": git_token,
                                        "url": self.fake.url("/git/example/repo.git")})
                t = self.check(g["id"])
                self.assertTrue(t["ok"], t)
                self.assertEqual(self.fake.last("/git/")["query"], "service=git-upload-pack")
                g2 = self.create("git", {"credential_type": "token", "username": "bot",
                                         "access_token": self.secret("ghp_", 36),
                                         "url": self.fake.url("/git/example/repo.git")})
                self.assertEqual(self.check(g2["id"])["error"], "Authentication failed")
                ssh = self.create("git", {"credential_type": "ssh_key", "ssh_private_key":
                                          "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"})
                t = self.check(ssh["id"])
                self.assertEqual((t["ok"], t["error"]), (False, "Not testable"))

        def test_checks_do_not_block_the_daemon(self):
                """While a provider takes its time the daemon answers everything else."""
                key = self.secret("sk-slow-")
                self.fake.openai_keys.add(key)
                c = self.create("llm", {"provider_type": "openai_compatible", "api_key": key,
                                        "base_url": self.fake.url("/slow/v1")})
                self.fake.slow_seconds = 2
                self.fake.slow_most_in_flight = 0
                results = []

                def slow_check():
                        client = self.daemon.client(self.admin_key)
                        results.append(client.post("/credentials/%d/test/" % c["id"]))

                threads = [threading.Thread(target=slow_check) for _ in range(3)]
                try:
                        for t in threads:
                                t.start()
                        time.sleep(0.3)
                        for _ in range(5):
                                t0 = time.monotonic()
                                self.assertHealthy()
                                self.assertEqual(self.admin.get("/credentials/").status, 200)
                                self.assertLess(time.monotonic() - t0, 1.0)
                        for t in threads:
                                t.join(30)
                finally:
                        self.fake.slow_seconds = 0
                self.assertEqual([r.status for r in results], [200, 200, 200])
                self.assertTrue(all(r.body["ok"] for r in results), results)
                # Side by side, not one after the other: all three were at the provider at once.
                self.assertEqual(self.fake.slow_most_in_flight, 3)

        def test_hostile_inputs(self):
                bodies = [
                        {"name": "x", "credential_type": "llm", "detail": {"provider_type": "openai",
                                                                          "api_key": "k" * 5000}},
                        {"name": "x", "credential_type": "llm", "detail": {"provider_type": ["openai"]}},
                        {"name": "x", "credential_type": "llm", "detail": {"provider_type": None}},
                        {"name": "x", "credential_type": "llm", "detail": {"provider_type": "openai",
                                                                          "api_key": "é" * 30}},
                        {"name": "x", "credential_type": "llm", "detail": {"provider_type": "openai_compatible",
                                                                          "base_url": "http://[::1"}},
                        {"name": "x", "credential_type": "llm", "detail": {"provider_type": "openai_compatible",
                                                                          "base_url": "h" * 3000}},
                        {"name": "x", "credential_type": "tool", "detail": {"tool_type": "searxng",
                                                                           "config": {"url": 7}}},
                        {"name": "x", "credential_type": "git", "detail": {"credential_type": "ssh_key",
                                                                          "ssh_private_key": "\x01" * 10}},
                        {"name": 5, "credential_type": 5, "detail": 5},
                        {"name": "x", "credential_type": "telegram", "detail": {"bot_token": "1:" + "a" * 300}},
                ]
                for body in bodies:
                        r = self.admin.post("/credentials/", body)
                        self.assertEqual(r.status, 422, (body, r))
                        self.assertIsInstance(r.body["detail"], list, r)
                r = self.admin.post("/credentials/", raw_body='{"name": "x\\u0000", "credential_type": "llm"}')
                self.assertEqual(r.status, 422, r)
                d, _ = self.openai()
                c = self.create("llm", d)
                for patch in ({"detail": "x"}, {"detail": {"custom_headers": {"A": "b\nc"}}}, {"name": ""},
                              {"detail": {"api_key": ["x"]}}):
                        r = self.admin.patch("/credentials/%d/" % c["id"], patch)
                        self.assertEqual(r.status, 422, (patch, r))
                self.assertEqual(self.admin.put("/credentials/%d/" % c["id"], {}).status, 405)
                self.assertEqual(self.admin.get("/credentials/%d/test/" % c["id"]).status, 405)
                self.assertHealthy()


class OwnDaemonTest(unittest.TestCase):
        """A daemon per test: the key that seals the secrets (made once, kept, refused when
        tampered with), and stopping while a check waits on a provider."""

        def setUp(self):
                self.fake = FakeProvider()
                self.daemons = []

        def tearDown(self):
                for d in self.daemons:
                        d.cleanup()
                self.fake.stop()

        def daemon(self, env=None):
                d = Daemon(env=dict({"CREDENTIALS_DIRECTORY": ""}, **(env or {})))
                self.daemons.append(d)
                d.create_admin()
                return d

        def start(self, d):
                d.start()
                return d.client(d.login())

        def add_credential(self, client):
                key = new_secret("sk-restart-", 40)
                self.fake.openai_keys.add(key)
                r = client.post("/credentials/", {"name": "kept", "credential_type": "llm", "detail": {
                        "provider_type": "openai_compatible", "api_key": key,
                        "base_url": self.fake.url("/openai/v1")}})
                self.assertEqual(r.status, 201, r)
                return r.body, key

        def test_key_created_and_reused(self):
                d = self.daemon()
                key_path = os.path.join(d.state_dir, "secret.key")
                self.assertFalse(os.path.exists(key_path))
                client = self.start(d)
                st = os.stat(key_path)
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
                self.assertEqual(st.st_size, 32)
                with open(key_path, "rb") as f:
                        key_bytes = f.read()
                c, key = self.add_credential(client)
                d.stop()

                client = self.start(d)
                with open(key_path, "rb") as f:
                        self.assertEqual(f.read(), key_bytes)
                r = client.get("/credentials/%d/" % c["id"])
                self.assertEqual(r.body["detail"]["api_key"], masked(key))
                r = client.post("/credentials/%d/test/" % c["id"])
                self.assertEqual(r.body["ok"], True, r)
                self.assertEqual(self.fake.last("/openai/")["headers"]["Authorization"], "Bearer " + key)
                d.stop()

        def test_tampered_key_refuses_to_start(self):
                d = self.daemon()
                self.start(d)
                d.stop()
                key_path = os.path.join(d.state_dir, "secret.key")
                with open(key_path, "rb") as f:
                        good = f.read()

                for data, mode, message in ((good[:31], 0o600, "holds 31 bytes; a key is exactly 32"),
                                            (good + b"\n", 0o600, "holds more than 32 bytes"),
                                            (b"", 0o600, "holds 0 bytes"),
                                            (good, 0o644, "is accessible to group or others (mode 0644)")):
                        with open(key_path, "wb") as f:
                                f.write(data)
                        os.chmod(key_path, mode)
                        with self.assertRaises(DaemonError):
                                d.start()
                        self.assertIn(key_path, d.log())
                        self.assertIn(message, d.log())
                        # Never replaced behind our back.
                        with open(key_path, "rb") as f:
                                self.assertEqual(f.read(), data)

                with open(key_path, "wb") as f:
                        f.write(good)
                os.chmod(key_path, 0o600)
                self.start(d)
                d.stop()

        def test_other_key_shows_secrets_unreadable(self):
                d = self.daemon()
                client = self.start(d)
                c, key = self.add_credential(client)
                d.stop()
                key_path = os.path.join(d.state_dir, "secret.key")
                with open(key_path, "wb") as f:
                        f.write(os.urandom(32))

                client = self.start(d)
                r = client.get("/credentials/%d/" % c["id"])
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["detail"]["api_key"], "****")
                r = client.post("/credentials/%d/test/" % c["id"])
                self.assertEqual(r.status, 200, r)
                self.assertFalse(r.body["ok"])
                self.assertIn("cannot be opened", r.body["error"])
                r = client.patch("/credentials/%d/" % c["id"], {"name": "x"})
                self.assertEqual(r.status, 409, r)
                self.assertEqual(client.delete("/credentials/%d/" % c["id"]).status, 204)
                d.stop()

        def test_key_from_credentials_directory(self):
                creds = os.path.join(self.fake_dir(), "creds")
                os.mkdir(creds)
                with open(os.path.join(creds, "pipelit-secret-key"), "w") as f:
                        f.write(secrets.token_hex(32) + "\n")
                d = self.daemon(env={"CREDENTIALS_DIRECTORY": creds})
                client = self.start(d)
                self.assertFalse(os.path.exists(os.path.join(d.state_dir, "secret.key")))
                c, key = self.add_credential(client)
                d.stop()
                client = self.start(d)
                self.assertEqual(client.post("/credentials/%d/test/" % c["id"]).body["ok"], True)
                d.stop()

                # A credential that is not a key refuses the start, naming it.
                with open(os.path.join(creds, "pipelit-secret-key"), "w") as f:
                        f.write("hunter2\n")
                with self.assertRaises(DaemonError):
                        d.start()
                self.assertIn("pipelit-secret-key is neither 32 bytes nor 64 hex digits", d.log())

        def test_stop_answers_checks_in_flight(self):
                d = self.daemon()
                client = self.start(d)
                c, key = self.add_credential(client)
                r = client.patch("/credentials/%d/" % c["id"],
                                 {"detail": {"base_url": self.fake.url("/slow/v1"), "api_key": key}})
                self.assertEqual(r.status, 200, r)
                self.fake.slow_seconds = 1.5
                results = []
                waiting = threading.Thread(target=lambda: results.append(
                        client.post("/credentials/%d/test/" % c["id"])))
                waiting.start()
                time.sleep(0.4)
                d.signal(signal.SIGTERM)
                waiting.join(20)
                self.assertEqual(d.wait(20), 0, d.log())
                self.assertEqual(len(results), 1)
                self.assertEqual(results[0].status, 200, results[0])
                self.assertTrue(results[0].body["ok"], results[0])

        def fake_dir(self):
                d = tempfile.mkdtemp(prefix="pipelit-creds-")
                self.addCleanup(shutil.rmtree, d, True)
                return d

if __name__ == "__main__":
        unittest.main()
