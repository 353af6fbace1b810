"""The browser UI's files as pipelitd serves them (StaticDirectory=): index.html for client
routes, a year's caching for hashed assets and revalidation for the rest, precompressed
gzip where the client takes it, 404 for missing assets, and the API, the health check and
the WebSocket as they were."""

import gzip
import os
import re
import shutil
import tempfile

import harness
from harness import DaemonTestCase, raw_status
from wsclient import WebSocket

INDEX = ("<!doctype html><html><head><script type=module src=/assets/index-Ab12Cd34.js>"
         "</script></head><body><div id=root></div></body></html>\n")
APP_JS = "console.log('the app');\n" * 200
APP_CSS = "body { margin: 0 }\n"
HASHED_CACHE = "public, max-age=31536000, immutable"


def write(base, name, data, gz=False):
        path = os.path.join(base, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = data.encode() if isinstance(data, str) else data
        with open(path, "wb") as f:
                f.write(data)
        if gz:
                with open(path + ".gz", "wb") as f:
                        f.write(gzip.compress(data, mtime=0))


def built_ui():
        """The UI the build made (tools/build-ui), or None."""
        d = os.environ.get("PIPELIT_UI_DIST") or os.path.join(os.path.dirname(harness.PIPELITD), "ui-dist")
        return d if os.path.isfile(os.path.join(d, "index.html")) else None


class UiServingTest(DaemonTestCase):
        @classmethod
        def setUpClass(cls):
                cls.ui = tempfile.mkdtemp(prefix="pipelit-ui-")
                write(cls.ui, "index.html", INDEX, gz=True)
                write(cls.ui, "assets/index-Ab12Cd34.js", APP_JS, gz=True)
                write(cls.ui, "assets/index-Ef56Gh78.css", APP_CSS)
                write(cls.ui, "assets/logo-Zz99.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
                write(cls.ui, ".secret", "HIDDEN-FILE-CONTENT\n")
                cls.daemon_config = "[Server]\nStaticDirectory=%s\n" % cls.ui
                super().setUpClass()

        @classmethod
        def tearDownClass(cls):
                try:
                        super().tearDownClass()
                finally:
                        shutil.rmtree(cls.ui, ignore_errors=True)

        def get(self, path, headers=None, client=None):
                return (client or self.anon()).get(path, absolute=True, headers=headers or {})

        def assertIndex(self, r):
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.raw.decode(), INDEX)
                self.assertEqual(r.headers["Content-Type"], "text/html; charset=utf-8")
                self.assertEqual(r.headers["Cache-Control"], "no-cache")
                self.assertIsNotNone(r.headers.get("ETag"))
                self.assertIn("frame-ancestors 'none'", r.headers.get("Content-Security-Policy", ""))

        # --- client routes ---------------------------------------------------------------

        def test_client_routes_get_index(self):
                for path in ("/", "/index.html", "/workflows", "/workflows/my-flow",
                             "/executions/6f1c2d3e-0000-4000-8000-000000000000", "/login",
                             "/some/deep/route/", "/workflows/x?tab=runs", "/apix", "/wsx",
                             "/healthy"):
                        with self.subTest(path=path):
                                self.assertIndex(self.get(path))

        def test_hidden_files_and_dot_segments_are_not_served(self):
                for path in ("/.secret", "/assets/../.secret", "/%2esecret", "/./.secret"):
                        with self.subTest(path=path):
                                data = self.anon().raw(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
                                self.assertNotIn(b"HIDDEN-FILE-CONTENT", data)
                                self.assertIn(raw_status(data), (200, 404), data[:200])

        # --- caching ---------------------------------------------------------------------

        def test_hashed_assets_are_cached_for_a_year(self):
                r = self.get("/assets/index-Ab12Cd34.js")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.raw.decode(), APP_JS)
                self.assertEqual(r.headers["Content-Type"], "text/javascript; charset=utf-8")
                self.assertEqual(r.headers["Cache-Control"], HASHED_CACHE)
                self.assertEqual(r.headers["X-Content-Type-Options"], "nosniff")
                self.assertIsNone(r.headers.get("Content-Encoding"))
                r = self.get("/assets/index-Ef56Gh78.css")
                self.assertEqual((r.status, r.raw.decode()), (200, APP_CSS))
                self.assertEqual(r.headers["Content-Type"], "text/css; charset=utf-8")
                self.assertEqual(r.headers["Cache-Control"], HASHED_CACHE)
                r = self.get("/assets/logo-Zz99.png")
                self.assertEqual((r.status, r.headers["Content-Type"]), (200, "image/png"))
                self.assertEqual(len(r.raw), 264)

        def test_unchanged_files_answer_304(self):
                c = self.anon()
                for path in ("/", "/assets/index-Ab12Cd34.js"):
                        with self.subTest(path=path):
                                first = self.get(path, client=c)
                                etag = first.headers["ETag"]
                                r = self.get(path, {"If-None-Match": etag}, client=c)
                                self.assertEqual(r.status, 304, r)
                                self.assertEqual(r.raw, b"")
                                self.assertEqual(r.headers["ETag"], etag)
                                self.assertEqual(r.headers["Cache-Control"], first.headers["Cache-Control"])
                                r = self.get(path, {"If-None-Match": '"other", W/%s' % etag}, client=c)
                                self.assertEqual(r.status, 304, r)
                                r = self.get(path, {"If-None-Match": '"something-else"'}, client=c)
                                self.assertEqual(r.status, 200, r)
                # The keep-alive connection still serves the API.
                self.assertEqual(c.get("/health").status, 200)

        # --- gzip ------------------------------------------------------------------------

        def test_gzip_when_the_client_accepts_it(self):
                for accept in ("gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "*", "deflate, *;q=0.5",
                               "GZIP"):
                        with self.subTest(accept=accept):
                                r = self.get("/assets/index-Ab12Cd34.js", {"Accept-Encoding": accept})
                                self.assertEqual(r.status, 200, r)
                                self.assertEqual(r.headers.get("Content-Encoding"), "gzip")
                                self.assertEqual(r.headers.get("Vary"), "Accept-Encoding")
                                self.assertEqual(r.headers["Cache-Control"], HASHED_CACHE)
                                self.assertLess(len(r.raw), len(APP_JS))
                                self.assertEqual(gzip.decompress(r.raw).decode(), APP_JS)
                r = self.get("/workflows/x", {"Accept-Encoding": "gzip"})
                self.assertEqual(r.headers.get("Content-Encoding"), "gzip")
                self.assertEqual(gzip.decompress(r.raw).decode(), INDEX)
                self.assertEqual(r.headers["Cache-Control"], "no-cache")

        def test_no_gzip_otherwise(self):
                for accept in (None, "identity", "br", "gzip;q=0", "gzip;q=0.000, br", "*;q=0", "gzipx"):
                        with self.subTest(accept=accept):
                                headers = {"Accept-Encoding": accept} if accept is not None else {}
                                r = self.get("/assets/index-Ab12Cd34.js", headers)
                                self.assertEqual(r.status, 200, r)
                                self.assertIsNone(r.headers.get("Content-Encoding"))
                                self.assertEqual(r.headers.get("Vary"), "Accept-Encoding")
                                self.assertEqual(r.raw.decode(), APP_JS)
                # A file without a .gz beside it goes as it is.
                r = self.get("/assets/index-Ef56Gh78.css", {"Accept-Encoding": "gzip"})
                self.assertIsNone(r.headers.get("Content-Encoding"))
                self.assertEqual(r.raw.decode(), APP_CSS)
                # The two variants have their own validators.
                plain = self.get("/assets/index-Ab12Cd34.js").headers["ETag"]
                zipped = self.get("/assets/index-Ab12Cd34.js", {"Accept-Encoding": "gzip"}).headers["ETag"]
                self.assertNotEqual(plain, zipped)

        # --- what is not there -----------------------------------------------------------

        def test_missing_assets_answer_404(self):
                for path in ("/assets/index-Missing1.js", "/assets/", "/assets/deeper/x.css",
                             "/assets/index-Ab12Cd34.js/extra"):
                        with self.subTest(path=path):
                                r = self.get(path)
                                self.assertEqual(r.status, 404, r)
                                self.assertEqual(r.body, {"detail": "Not Found"})
                                self.assertEqual(r.headers["Cache-Control"], "no-store")

        def test_head(self):
                c = self.anon()
                r = c.request("HEAD", "/workflows/abc", absolute=True)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.raw, b"")
                self.assertEqual(int(r.headers["Content-Length"]), len(INDEX))
                r = c.request("HEAD", "/assets/index-Ab12Cd34.js", absolute=True, headers={"Accept-Encoding": "gzip"})
                self.assertEqual((r.status, r.raw), (200, b""))
                self.assertEqual(r.headers["Content-Encoding"], "gzip")
                self.assertEqual(int(r.headers["Content-Length"]),
                                 os.path.getsize(os.path.join(self.ui, "assets/index-Ab12Cd34.js.gz")))
                r = c.request("HEAD", "/assets/nope.js", absolute=True)
                self.assertEqual(r.status, 404, r)
                # The same connection goes on.
                self.assertIndex(self.get("/", client=c))

        def test_odd_paths_get_clear_answers(self):
                for path in ("/%00", "/a%0Ab", "/" + "a" * 4000, "/assets/%2e%2e/%2e%2e/etc/passwd",
                             "/assets/..%2f..%2fetc%2fpasswd", "/\\..\\.secret"):
                        with self.subTest(path=path[:40]):
                                data = self.anon().raw(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
                                status = raw_status(data)
                                self.assertIsNotNone(status, data[:200])
                                self.assertLess(status, 500, data[:200])
                                self.assertNotIn(b"root:", data)
                                self.assertNotIn(b"HIDDEN-FILE-CONTENT", data)
                self.assertEqual(self.anon().get("/health").status, 200)

        # --- the API is untouched ----------------------------------------------------------

        def test_api_health_and_websocket_are_unaffected(self):
                r = self.get("/health")
                self.assertEqual((r.status, r.body["status"]), (200, "ok"))
                self.assertEqual(r.headers["Cache-Control"], "no-store")
                for path in ("/api/v1/nope/", "/api", "/api/", "/api/v2/workflows/", "/ws", "/ws/",
                             "/health/more"):
                        with self.subTest(path=path):
                                r = self.get(path)
                                self.assertEqual(r.status, 404, r)
                                self.assertIsInstance(r.body, dict, r)
                r = self.get("/api/v1/workflows/")
                self.assertEqual(r.status, 401, r)
                r = self.admin.get("/workflows/")
                self.assertEqual(r.status, 200, r)
                self.assertIn("items", r.body)
                self.assertEqual(r.headers["Cache-Control"], "no-store")
                self.assertIsNone(r.headers.get("ETag"))
                # Other methods on UI paths are not the UI's.
                r = self.anon().post("/workflows/x", {}, absolute=True)
                self.assertEqual(r.status, 404, r)
                self.assertNotIn(b"<html", r.raw)
                with WebSocket("127.0.0.1", self.daemon.port, "/ws/?token=" + self.admin_key) as ws:
                        ws.send_json({"type": "ping"})
                        self.assertEqual(ws.recv_json(timeout=5), {"type": "pong"})

        def test_the_built_ui(self):
                ui = built_ui()
                if not ui:
                        self.skipTest("the UI is not built (tools/build-ui)")
                d = harness.Daemon(config="[Server]\nStaticDirectory=%s\n" % ui)
                self.addCleanup(d.cleanup)
                d.start()
                c = d.client()
                r = c.get("/workflows/anything", absolute=True)
                self.assertEqual(r.status, 200, r)
                scripts = re.findall(r'src="(/assets/[^"]+\.js)"', r.raw.decode())
                self.assertTrue(scripts, r.raw[:500])
                r = c.get(scripts[0], absolute=True, headers={"Accept-Encoding": "gzip"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers["Cache-Control"], HASHED_CACHE)
                self.assertEqual(r.headers.get("Content-Encoding"), "gzip")
                with open(os.path.join(ui, scripts[0].lstrip("/")), "rb") as f:
                        script = f.read()
                self.assertEqual(gzip.decompress(r.raw), script)
                r = c.get(scripts[0], absolute=True)
                self.assertEqual((r.status, r.raw), (200, script))
                d.stop()


class NoUiTest(DaemonTestCase):
        """A StaticDirectory= without index.html (or none at all): its files are served, other
        paths answer as the API does."""

        @classmethod
        def setUpClass(cls):
                cls.ui = tempfile.mkdtemp(prefix="pipelit-no-ui-")
                write(cls.ui, "assets/index-Ab12Cd34.js", APP_JS)
                cls.daemon_config = "[Server]\nStaticDirectory=%s\n" % cls.ui
                super().setUpClass()

        @classmethod
        def tearDownClass(cls):
                try:
                        super().tearDownClass()
                finally:
                        shutil.rmtree(cls.ui, ignore_errors=True)

        def test_no_index_fallback(self):
                for path in ("/", "/workflows/x", "/assets/missing.js"):
                        with self.subTest(path=path):
                                r = self.anon().get(path, absolute=True)
                                self.assertEqual(r.status, 404, r)
                                self.assertEqual(r.body, {"detail": "Not Found"})
                r = self.anon().get("/assets/index-Ab12Cd34.js", absolute=True)
                self.assertEqual((r.status, r.raw.decode()), (200, APP_JS))
                self.assertEqual(self.anon().get("/health").status, 200)
