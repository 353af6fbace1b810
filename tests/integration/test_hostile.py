"""Hostile and malformed input: every case ends with the daemon still answering /health."""

import json
import socket
import time

from harness import DaemonTestCase, raw_status, read_all, unique

SQLISH = ["'; DROP TABLE workflows; --", "\" OR 1=1", "%_\\", "Robert'); DROP TABLE users;--",
          "\u00fcn\u00efc\u00f6d\u00e9 \u2603 \U0001F600", "tab\there\nnewline"]


def send_early_answered(client, head, body):
        """Sends a request whose answer may come before the body is read (413): the head
        first, a moment to hear an early answer, then the body as far as the server takes
        it. A server that closes with unread data resets the connection, which would lose
        an answer already sent; reading first avoids that."""
        s = client.raw_socket(timeout=10)
        try:
                s.sendall(head)
                s.settimeout(0.5)
                try:
                        early = s.recv(65536)
                except socket.timeout:
                        early = None
                if early is not None:
                        s.settimeout(2)
                        return early + read_all(s)
                s.settimeout(10)
                try:
                        for i in range(0, len(body), 65536):
                                s.sendall(body[i:i + 65536])
                except (BrokenPipeError, ConnectionResetError, socket.timeout):
                        pass
                return read_all(s)
        finally:
                s.close()


class HostileTest(DaemonTestCase):
        daemon_env = {"PIPELIT_MAX_BODY_SIZE": "64K"}

        def tearDown(self):
                self.assertHealthy()

        # --- request bodies ---------------------------------------------------------

        def test_malformed_json(self):
                for body in (b'{"name": ', b"{name: 1}", b'{"name": "x",}', b"\x00\x01",
                             b'{"name": "x"} trailing'):
                        with self.subTest(body=body):
                                r = self.admin.post("/workflows/", raw_body=body)
                                self.assertEqual(r.status, 400, r)
                                self.assertRegex(r.body["detail"],
                                                 r"^Malformed JSON at line \d+, column \d+")

        def test_invalid_utf8(self):
                r = self.admin.post("/workflows/", raw_body=b'{"name": "\xff\xfe"}')
                self.assertEqual(r.status, 400, r)

        def test_json_that_is_not_an_object(self):
                for body in (b"[]", b'[{"name": "x"}]', b'"text"', b"42", b"null", b"true"):
                        with self.subTest(body=body):
                                r = self.admin.post("/workflows/", raw_body=body)
                                self.assertEqual(r.status, 422, r)
                                self.assertIn("detail", r.body)

        def test_empty_body(self):
                r = self.admin.post("/workflows/", raw_body=b"")
                self.assertIn(r.status, (400, 422), r)

        def test_wrong_field_types(self):
                slug = self.make_workflow()["slug"]
                cases = [
                        ("/workflows/", {"name": 123}, "name"),
                        ("/workflows/", {"name": "x", "tags": "notalist"}, "tags"),
                        ("/workflows/", {"name": "x", "max_execution_seconds": "ten"},
                         "max_execution_seconds"),
                        ("/workflows/", {"name": "x", "is_public": "yes"}, "is_public"),
                        ("/workflows/", {"name": "x", "slug": ["a"]}, "slug"),
                        ("/workflows/", {"name": "x", "description": {"a": 1}}, "description"),
                        ("/workflows/%s/nodes/" % slug,
                         {"component_type": "code", "position_x": "left"}, "position_x"),
                        ("/workflows/%s/nodes/" % slug,
                         {"component_type": "code", "label": 5}, "label"),
                        ("/workflows/%s/nodes/" % slug,
                         {"component_type": "code", "is_entry_point": "no"}, "is_entry_point"),
                        ("/workflows/%s/edges/" % slug,
                         {"source_node_id": 1, "target_node_id": "b"}, "source_node_id"),
                        ("/users/", {"username": "u" + unique(), "password": 12345678}, "password"),
                        ("/users/", {"username": ["x"], "password": "password-123"}, "username"),
                        ("/users/me/keys/", {"name": 5}, "name"),
                        ("/auth/token/", {"username": 1, "password": "x"}, "username"),
                ]
                for path, body, field in cases:
                        with self.subTest(path=path, field=field):
                                self.assertValidation(self.admin.post(path, body), field)
                for body, field in (({"name": None}, "name"), ({"tags": [1]}, "tags"),
                                    ({"is_active": 1}, "is_active")):
                        with self.subTest(patch=field):
                                self.assertValidation(self.admin.patch("/workflows/%s/" % slug, body),
                                                      field)

        def assertValidationList(self, r):
                """422 with the documented list of validation errors (for input where the
                JSON parser itself cannot say which field is wrong)."""
                self.assertEqual(r.status, 422, r)
                self.assertIsInstance(r.body["detail"], list, r)
                for e in r.body["detail"]:
                        self.assertIsInstance(e["loc"], list, r)
                        self.assertEqual(e["loc"][0], "body", r)
                        self.assertIsInstance(e["msg"], str, r)

        def test_huge_numbers(self):
                r = self.admin.post("/workflows/", {"name": "x",
                                                    "max_execution_seconds": 10 ** 30})
                self.assertValidationList(r)
                slug = self.make_workflow()["slug"]
                r = self.admin.post("/workflows/%s/nodes/" % slug,
                                    {"component_type": "code", "position_x": 1e308 * 10})
                self.assertIn(r.status, (400, 422), r)

        def test_deeply_nested_json(self):
                body = b"[" * 20000 + b"]" * 20000
                r = self.admin.post("/workflows/", raw_body=body)
                self.assertIn(r.status, (400, 422), r)
                body = b'{"name": "x", "input_schema": ' + b'{"a":' * 5000 + b"1" + b"}" * 5001
                r = self.admin.post("/workflows/", raw_body=body)
                self.assertIn(r.status, (201, 400, 422), r)

        def test_nul_in_strings(self):
                r = self.admin.post("/workflows/", {"name": "nul\u0000byte"})
                if r.status == 201:
                        got = self.admin.get("/workflows/%s/" % r.body["slug"])
                        self.assertEqual(got.body["name"], "nul\u0000byte")
                else:
                        self.assertValidationList(r)

        def test_body_over_the_limit(self):
                body = json.dumps({"name": "big", "description": "x" * (1 << 20)}).encode()
                head = ("POST /api/v1/workflows/ HTTP/1.1\r\nHost: localhost\r\n"
                        "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %d\r\n\r\n" % (self.admin_key, len(body))).encode()
                data = send_early_answered(self.admin, head, body)
                self.assertEqual(raw_status(data), 413, data[:500])
                # Just under the limit is fine.
                r = self.admin.post("/workflows/", {"name": "under", "description": "y" * 60000})
                self.assertEqual(r.status, 201, r)
                self.assertEqual(len(r.body["description"]), 60000)
                # Nothing of the big one was stored.
                items = self.admin.get("/workflows/?limit=1000").body["items"]
                self.assertNotIn("big", [w["name"] for w in items])

        def test_body_over_the_limit_through_the_client(self):
                r = self.admin.post("/workflows/", raw_body=b" " * (65 * 1024) + b"{}")
                self.assertEqual(r.status, 413, r)

        # --- authentication ----------------------------------------------------------

        def test_bad_authorization(self):
                for value in (None, "", "Bearer", "Bearer ", "Bearer garbage",
                              "Bearer " + "A" * 5000, "Basic YWRtaW46YWRtaW4tcGFzc3dvcmQtMQ==",
                              "Token " + self.admin_key, self.admin_key,
                              "Bearer " + self.admin_key + "x", "Bearer " + self.admin_key[:-1],
                              "Bearer " + self.admin_key.upper() + "'--"):
                        with self.subTest(authorization=value):
                                headers = {} if value is None else {"Authorization": value}
                                c = self.daemon.client()
                                r = c.get("/workflows/", headers=headers)
                                self.assertNotAuthenticated(r)
                                c.close()

        # --- routing -------------------------------------------------------------------

        def test_unknown_route(self):
                for path in ("/api/v1/nope/", "/api/v2/workflows/", "/api/v1/workflows/x/y/z/w/",
                             "/nope"):
                        with self.subTest(path=path):
                                r = self.admin.get(path, absolute=True)
                                self.assertEqual(r.status, 404, r)
                                self.assertIsInstance(r.body, dict, r)
                                self.assertIsInstance(r.body.get("detail"), str, r)

        def test_wrong_method(self):
                r = self.admin.delete("/workflows/node-types/")
                self.assertEqual(r.status, 405, r)
                self.assertIn("GET", r.headers.get("Allow", ""))
                r = self.admin.put("/workflows/", {"name": "x"})
                self.assertEqual(r.status, 405, r)
                allow = [m.strip() for m in r.headers.get("Allow", "").split(",")]
                self.assertIn("GET", allow)
                self.assertIn("POST", allow)
                r = self.anon().request("POST", "/health")
                self.assertEqual(r.status, 405, r)

        # --- SQL metacharacters --------------------------------------------------------

        def test_sql_metacharacters_in_workflows_and_nodes(self):
                for s in SQLISH:
                        with self.subTest(s=s):
                                r = self.admin.post("/workflows/", {"name": s, "description": s,
                                                                    "tags": [s, s + "2"]})
                                self.assertEqual(r.status, 201, r)
                                w = r.body
                                self.assertEqual((w["name"], w["description"], w["tags"]),
                                                 (s, s, [s, s + "2"]))
                                self.assertRegex(w["slug"], r"^[a-z0-9_-]+$")
                                slug = w["slug"]
                                n = self.make_node(slug, "ai_model", label=s,
                                                   config={"system_prompt": s, "model_name": s,
                                                           "extra_config": {s: s, "k": [s]}})
                                sw = self.make_node(slug, "switch", label=s)
                                target = self.make_node(slug, "code",
                                                        config={"extra_config": {"code": s}})
                                e = self.make_edge(slug, sw["node_id"], target["node_id"],
                                                   edge_type="conditional", condition_value=s)
                                self.assertEqual(e["condition_value"], s)
                                got = self.admin.get("/workflows/%s/" % slug).body
                                self.assertEqual((got["name"], got["description"], got["tags"]),
                                                 (s, s, [s, s + "2"]))
                                node = [x for x in got["nodes"] if x["node_id"] == n["node_id"]][0]
                                self.assertEqual(node["label"], s)
                                self.assertEqual(node["config"]["system_prompt"], s)
                                self.assertEqual(node["config"]["model_name"], s)
                                self.assertEqual(node["config"]["extra_config"], {s: s, "k": [s]})
                                self.assertEqual(got["edges"][0]["condition_value"], s)
                                code = [x for x in got["nodes"] if x["node_id"] == target["node_id"]]
                                self.assertEqual(code[0]["config"]["extra_config"], {"code": s})
                                r = self.admin.patch("/workflows/%s/" % slug,
                                                     {"description": s + s})
                                self.assertEqual(r.body["description"], s + s)
                                listed = self.admin.get("/workflows/?limit=1000").body["items"]
                                self.assertIn(slug, [x["slug"] for x in listed])
                # The tables are all still there.
                self.assertEqual(self.admin.get("/workflows/").status, 200)
                self.assertEqual(self.admin.get("/users/").status, 200)

        def test_sql_metacharacters_in_user_fields_and_keys(self):
                for s in SQLISH:
                        with self.subTest(s=s):
                                name = unique("meta")
                                password = s + "-password"
                                r = self.admin.post("/users/", {"username": name,
                                                                "password": password,
                                                                "first_name": s, "last_name": s})
                                self.assertEqual(r.status, 201, r)
                                self.assertEqual((r.body["first_name"], r.body["last_name"]),
                                                 (s, s))
                                key = self.daemon.login(name, password)
                                me = self.anon().get("/users/me/", token=key)
                                self.assertEqual((me.body["first_name"], me.body["last_name"]),
                                                 (s, s))
                                r = self.anon().patch("/users/me/", {"first_name": s + s},
                                                      token=key)
                                self.assertEqual(r.body["first_name"], s + s)
                                k = self.anon().post("/users/me/keys/", {"name": s}, token=key)
                                self.assertEqual(k.status, 201, k)
                                self.assertEqual(k.body["name"], s)
                                listed = self.anon().get("/users/me/keys/", token=key).body
                                self.assertIn(s, [x["name"] for x in listed])
                # Logging in with an injection attempt does not log anyone in.
                for s in ("admin' --", "admin\" --", "' OR '1'='1", "%", "_dmin", "admin%"):
                        r = self.anon().post("/auth/token/", {"username": s, "password": s})
                        self.assertEqual(r.status, 401, r)
                        r = self.anon().post("/auth/token/", {"username": s,
                                                              "password": "' OR '1'='1"})
                        self.assertEqual(r.status, 401, r)
                self.assertEqual(self.admin.get("/users/").status, 200)

        def test_sql_metacharacters_in_usernames(self):
                # Usernames are restricted to [A-Za-z0-9_.@+-] (docs/api.md): metacharacters
                # are refused by name, and logging in with them is just a failed login. The
                # free-text name fields keep them verbatim.
                for s in SQLISH:
                        with self.subTest(s=s):
                                r = self.admin.post("/users/", {"username": s + unique("-"),
                                                                "password": "password-123"})
                                self.assertValidation(r, "username")
                                wrong = self.anon().post("/auth/token/",
                                                         {"username": s, "password": "password-123"})
                                self.assertEqual(wrong.status, 401)
                                name = unique("meta")
                                r = self.admin.post("/users/", {"username": name,
                                                                "password": "password-123",
                                                                "first_name": s, "last_name": s})
                                self.assertEqual(r.status, 201, r)
                                self.assertEqual(r.body["first_name"], s)
                                self.assertEqual(r.body["last_name"], s)
                listing = self.admin.get("/users/?limit=1000")
                self.assertEqual(listing.status, 200)
                self.assertGreaterEqual(listing.body["total"], len(SQLISH) + 1)

        def test_metacharacters_in_paths_and_queries(self):
                w = self.make_workflow(slug=unique("likeab_c"))
                for path in ("/workflows/%27%3B%20DROP%20TABLE%20workflows%3B%20--/",
                             "/workflows/%25/", "/workflows/%25_%5C/",
                             "/workflows/" + w["slug"][:-1] + "%25/",
                             "/workflows/" + w["slug"][:-1] + "_/"):
                        with self.subTest(path=path):
                                self.assertEqual(self.admin.get(path).status, 404)
                self.assertValidation(self.admin.get("/workflows/?limit=1%27%3B--"), "limit",
                                      where="query")
                self.assertValidation(self.admin.get("/workflows/?offset=0%20OR%201%3D1"),
                                      "offset", where="query")
                self.assertEqual(self.admin.get("/workflows/%s/" % w["slug"]).status, 200)

        # --- broken HTTP -----------------------------------------------------------------

        def test_huge_header(self):
                head = b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: "
                s = self.admin.raw_socket(timeout=5)
                try:
                        try:
                                s.sendall(head)
                                chunk = b"a" * 65536
                                for _ in range(160):  # 10 MiB
                                        s.sendall(chunk)
                                s.sendall(b"\r\n\r\n")
                        except (BrokenPipeError, ConnectionResetError, socket.timeout):
                                pass
                        data = read_all(s)
                finally:
                        s.close()
                if data:
                        self.assertIn(raw_status(data), (400, 413, 414, 431), data[:300])

        def test_truncated_requests(self):
                key = self.admin_key
                for data in (b"POST /api/v1/workflows/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                             + key.encode() + b"\r\nContent-Length: 100\r\n\r\n{\"name\"",
                             b"GET /api/v1/workf", b"GET /health HTTP/1.1\r\nHost: loc",
                             b"\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"):
                        with self.subTest(data=data[:30]):
                                s = self.admin.raw_socket(timeout=2)
                                s.sendall(data)
                                s.close()
                self.assertHealthy()
                # The truncated POST created nothing.
                r = self.admin.get("/workflows/?limit=1000")
                self.assertEqual(r.status, 200, r)

        def test_garbage_requests(self):
                for data in (b"HELLO\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                             b"GET /health HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                             b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: x\r\n"
                             b"Content-Length: abc\r\n\r\n",
                             b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                             b"GET /health HTTP/1.1\r\n" + b"X-H: v\r\n" * 5000 + b"\r\n"):
                        with self.subTest(data=data[:40]):
                                resp = self.admin.raw(data, timeout=3, half_close=True)
                                if resp:
                                        self.assertIsNotNone(raw_status(resp), resp[:200])
                                        self.assertLess(raw_status(resp), 500, resp[:300])

        def test_a_stalled_client_does_not_block_others(self):
                stalled = self.admin.raw_socket(timeout=5)
                try:
                        stalled.sendall(b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: x\r\n"
                                        b"Content-Length: 1000\r\n\r\n{\"user")
                        start = time.monotonic()
                        c = self.daemon.client()
                        c.timeout = 5
                        r = c.get("/health")
                        self.assertEqual(r.status, 200, r)
                        self.assertLess(time.monotonic() - start, 2)
                        r = self.admin.get("/workflows/")
                        self.assertEqual(r.status, 200, r)
                finally:
                        stalled.close()

        def test_pipelined_requests(self):
                req = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
                s = self.admin.raw_socket(timeout=5)
                try:
                        s.sendall(req * 3)
                        data = b""
                        deadline = time.monotonic() + 5
                        while data.count(b"HTTP/1.1 200") < 3 and time.monotonic() < deadline:
                                chunk = s.recv(65536)
                                if not chunk:
                                        break
                                data += chunk
                finally:
                        s.close()
                self.assertEqual(data.count(b"HTTP/1.1 200"), 3, data[:1000])
