"""Logging in, API keys, and user administration."""

import datetime
import threading
import time

from harness import ADMIN_PASSWORD, ADMIN_USER, DaemonTestCase, unique

USER_FIELDS = {"id", "username", "role", "first_name", "last_name", "created_at",
               "mfa_enabled", "key_count", "budget"}
KEY_FIELDS = {"id", "name", "prefix", "created_at", "last_used_at", "expires_at", "is_active"}


def iso_in(seconds):
        t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def answered_during_a_burst(test, calls):
        """Makes the calls at once, each on its thread, and a request to /health just after:
        fails when /health waited for every call. Returns the calls' statuses, sorted."""
        finished = []
        lock = threading.Lock()

        def call(f):
                r = f()
                with lock:
                        finished.append(r.status)

        threads = [threading.Thread(target=call, args=(f,)) for f in calls]
        for t in threads:
                t.start()
        time.sleep(0.02)
        health = test.anon().get("/health")
        with lock:
                finished_before_health = len(finished)
        for t in threads:
                t.join(30)
        test.assertEqual(health.status, 200, health)
        test.assertLess(finished_before_health, len(calls), "/health waited for every call")
        return sorted(finished)


class LoginTest(DaemonTestCase):
        def test_login_gives_a_working_key(self):
                r = self.anon().post("/auth/token/", {"username": ADMIN_USER,
                                                      "password": ADMIN_PASSWORD})
                self.assertEqual(r.status, 200, r)
                self.assertIs(r.body["requires_mfa"], False)
                self.assertIsInstance(r.body["key"], str)
                self.assertGreaterEqual(len(r.body["key"]), 20)
                me = self.anon().get("/auth/me/", token=r.body["key"])
                self.assertEqual(me.status, 200, me)
                self.assertEqual(me.body["username"], ADMIN_USER)
                self.assertEqual(me.body["role"], "admin")
                self.assertEqual(me.body["id"], self.admin_id)
                self.assertIs(me.body["mfa_enabled"], False)

        def test_wrong_password(self):
                r = self.anon().post("/auth/token/", {"username": ADMIN_USER,
                                                      "password": "wrong-password"})
                self.assertEqual(r.status, 401, r)
                self.assertEqual(r.body, {"detail": "Invalid credentials."})

        def test_unknown_user_looks_like_a_wrong_password(self):
                r = self.anon().post("/auth/token/", {"username": unique("nobody"),
                                                      "password": ADMIN_PASSWORD})
                self.assertEqual(r.status, 401, r)
                self.assertEqual(r.body, {"detail": "Invalid credentials."})

        def test_logins_do_not_hold_up_other_requests(self):
                # Checking a password takes tens of milliseconds on purpose; it happens beside
                # the event loop, so a request sent after a burst of logins is answered first.
                def login(i):
                        return self.anon().post("/auth/token/", {"username": ADMIN_USER, "password": "wrong-%d" % i})

                statuses = answered_during_a_burst(self, [lambda i=i: login(i) for i in range(8)])
                self.assertEqual(statuses, [401] * 8)

        def test_login_without_fields(self):
                r = self.anon().post("/auth/token/", {"username": ADMIN_USER})
                self.assertValidation(r, "password")
                r = self.anon().post("/auth/token/", {"password": ADMIN_PASSWORD})
                self.assertValidation(r, "username")

        def test_each_login_has_its_own_key(self):
                user, _ = self.make_user()
                first = self.daemon.login(user["username"], "user-password-1")
                second = self.daemon.login(user["username"], "user-password-1")
                self.assertNotEqual(first, second)
                # Two browsers: neither logs the other out.
                for key in (first, second):
                        self.assertEqual(self.anon().get("/auth/me/", token=key).status, 200)
                # Logging out ends only the session that asks.
                r = self.anon().post("/auth/logout/", {}, token=first)
                self.assertEqual(r.status, 204, r)
                self.assertNotAuthenticated(self.anon().get("/auth/me/", token=first))
                self.assertEqual(self.anon().get("/auth/me/", token=second).status, 200)
                self.assertNotAuthenticated(self.anon().post("/auth/logout/", {}, token=first))

        def test_the_newest_ten_sessions_stay(self):
                user, client = self.make_user()
                named = client.post("/users/me/keys/", {"name": "ci"}).body["key"]
                keys = [self.daemon.login(user["username"], "user-password-1") for _ in range(11)]
                self.assertNotAuthenticated(self.anon().get("/auth/me/", token=keys[0]))
                for key in keys[1:]:
                        self.assertEqual(self.anon().get("/auth/me/", token=key).status, 200)
                listed = self.anon().get("/users/me/keys/", token=keys[-1]).body
                self.assertEqual(len([k for k in listed if k["name"] == "session"]), 10, listed)
                # Other keys are no sessions: untouched by logins, revoked (still listed) by a
                # logout.
                self.assertEqual(self.anon().get("/auth/me/", token=named).status, 200)
                self.assertEqual(self.anon().post("/auth/logout/", {}, token=named).status, 204)
                self.assertNotAuthenticated(self.anon().get("/auth/me/", token=named))
                listed = self.anon().get("/users/me/keys/", token=keys[-1]).body
                self.assertEqual([k["is_active"] for k in listed if k["name"] == "ci"], [False])

        def test_me_requires_a_key(self):
                self.assertNotAuthenticated(self.anon().get("/auth/me/"))
                self.assertNotAuthenticated(self.anon().get("/auth/me/", token="bogus"))

        def test_trailing_slash_is_optional(self):
                self.assertEqual(self.admin.get("/auth/me").status, 200)
                self.assertEqual(self.admin.get("/auth/me/").status, 200)
                slug = self.make_workflow()["slug"]
                self.assertEqual(self.admin.get("/workflows").status, 200)
                self.assertEqual(self.admin.get("/workflows/%s" % slug).status, 200)
                self.assertEqual(self.admin.get("/workflows/%s/nodes" % slug).status, 200)
                r = self.admin.post("/workflows", {"name": "no slash"})
                self.assertEqual(r.status, 201, r)

        def test_every_other_endpoint_requires_a_key(self):
                slug = self.make_workflow()["slug"]
                node = self.make_node(slug, "code")["node_id"]
                for method, path in (
                                ("GET", "/auth/me/"), ("GET", "/users/me/"), ("PATCH", "/users/me/"),
                                ("GET", "/users/me/keys/"), ("POST", "/users/me/keys/"),
                                ("DELETE", "/users/me/keys/1/"), ("GET", "/users/"),
                                ("POST", "/users/"), ("GET", "/users/1/"), ("PATCH", "/users/1/"),
                                ("DELETE", "/users/1/"), ("GET", "/users/1/keys/"),
                                ("POST", "/users/1/keys/"), ("DELETE", "/users/1/keys/1/"),
                                ("GET", "/workflows/"), ("POST", "/workflows/"),
                                ("GET", "/workflows/%s/" % slug),
                                ("PATCH", "/workflows/%s/" % slug),
                                ("DELETE", "/workflows/%s/" % slug),
                                ("POST", "/workflows/batch-delete/"),
                                ("POST", "/workflows/%s/validate/" % slug),
                                ("GET", "/workflows/%s/export/" % slug),
                                ("POST", "/workflows/import/"),
                                ("GET", "/workflows/%s/nodes/" % slug),
                                ("POST", "/workflows/%s/nodes/" % slug),
                                ("PATCH", "/workflows/%s/nodes/%s/" % (slug, node)),
                                ("DELETE", "/workflows/%s/nodes/%s/" % (slug, node)),
                                ("GET", "/workflows/%s/edges/" % slug),
                                ("POST", "/workflows/%s/edges/" % slug),
                                ("PATCH", "/workflows/%s/edges/1/" % slug),
                                ("DELETE", "/workflows/%s/edges/1/" % slug)):
                        with self.subTest(method=method, path=path):
                                body = {} if method in ("POST", "PATCH") else None
                                self.assertNotAuthenticated(self.anon().request(method, path, body))
                # Nothing was touched.
                r = self.admin.get("/workflows/%s/" % slug)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["node_count"], 1)


class ApiKeyTest(DaemonTestCase):
        def test_create_shows_the_key_once(self):
                r = self.admin.post("/users/me/keys/", {"name": "ci"})
                self.assertEqual(r.status, 201, r)
                key = r.body
                self.assertEqual(set(key) - {"key"}, KEY_FIELDS)
                self.assertEqual(key["name"], "ci")
                self.assertIs(key["is_active"], True)
                self.assertIsNone(key["last_used_at"])
                self.assertIsNone(key["expires_at"])
                self.assertTimestamp(key["created_at"])
                self.assertTrue(key["key"].startswith(key["prefix"]), key)
                self.assertGreaterEqual(len(key["prefix"]), 4)
                self.assertLess(len(key["prefix"]), len(key["key"]))

                listing = self.admin.get("/users/me/keys/")
                self.assertEqual(listing.status, 200, listing)
                self.assertIsInstance(listing.body, list)
                self.assertNotIn(key["key"].encode(), listing.raw)
                for k in listing.body:
                        self.assertNotIn("key", k)
                        self.assertEqual(set(k), KEY_FIELDS)
                mine = [k for k in listing.body if k["id"] == key["id"]]
                self.assertEqual(len(mine), 1)
                self.assertEqual(mine[0]["prefix"], key["prefix"])

        def test_new_key_works_and_records_its_use(self):
                key = self.admin.post("/users/me/keys/", {"name": "used"}).body
                r = self.anon().get("/auth/me/", token=key["key"])
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["username"], ADMIN_USER)
                listed = [k for k in self.admin.get("/users/me/keys/").body
                          if k["id"] == key["id"]][0]
                self.assertTimestamp(listed["last_used_at"], "last_used_at")

        def test_revoked_key_stops_working(self):
                key = self.admin.post("/users/me/keys/", {"name": "short-lived"}).body
                self.assertEqual(self.anon().get("/auth/me/", token=key["key"]).status, 200)
                r = self.admin.delete("/users/me/keys/%s/" % key["id"])
                self.assertEqual(r.status, 204, r)
                self.assertIsNone(r.body)
                self.assertNotAuthenticated(self.anon().get("/auth/me/", token=key["key"]))
                self.assertNotAuthenticated(self.anon().get("/workflows/", token=key["key"]))
                listed = [k for k in self.admin.get("/users/me/keys/").body
                          if k["id"] == key["id"]]
                self.assertEqual(len(listed), 1, "a revoked key stays listed")
                self.assertIs(listed[0]["is_active"], False)
                # The key we authenticate with is unaffected.
                self.assertEqual(self.admin.get("/auth/me/").status, 200)

        def test_revoking_an_unknown_key(self):
                r = self.admin.delete("/users/me/keys/987654321/")
                self.assertEqual(r.status, 404, r)

        def test_expired_key_stops_working(self):
                r = self.admin.post("/users/me/keys/", {"name": "expiring",
                                                        "expires_at": iso_in(2)})
                self.assertEqual(r.status, 201, r)
                deadline = time.time() + 2
                self.assertTimestamp(r.body["expires_at"], "expires_at")
                key = r.body["key"]
                self.assertEqual(self.anon().get("/auth/me/", token=key).status, 200)
                time.sleep(max(0, deadline - time.time()) + 0.3)
                self.assertNotAuthenticated(self.anon().get("/auth/me/", token=key))

        def test_expiry_in_the_past_is_refused(self):
                r = self.admin.post("/users/me/keys/", {"name": "past", "expires_at": iso_in(-60)})
                self.assertValidation(r, "expires_at")

        def test_expiry_must_be_a_timestamp(self):
                r = self.admin.post("/users/me/keys/", {"name": "bad", "expires_at": "tomorrow"})
                self.assertValidation(r, "expires_at")

        def test_key_name_length(self):
                self.assertValidation(self.admin.post("/users/me/keys/", {"name": ""}), "name")
                self.assertValidation(self.admin.post("/users/me/keys/", {"name": "k" * 101}),
                                      "name")
                self.assertValidation(self.admin.post("/users/me/keys/", {}), "name")
                r = self.admin.post("/users/me/keys/", {"name": "k" * 100})
                self.assertEqual(r.status, 201, r)

        def test_user_cannot_revoke_someone_elses_key(self):
                key = self.admin.post("/users/me/keys/", {"name": "admin-only"}).body
                _, other = self.make_user()
                r = other.delete("/users/me/keys/%s/" % key["id"])
                self.assertIn(r.status, (403, 404), r)
                self.assertEqual(self.anon().get("/auth/me/", token=key["key"]).status, 200)
                listed = other.get("/users/me/keys/").body
                self.assertNotIn(key["id"], [k["id"] for k in listed])

        def test_admin_manages_another_users_keys(self):
                user, _ = self.make_user()
                r = self.admin.post("/users/%s/keys/" % user["id"], {"name": "for-user"})
                self.assertEqual(r.status, 201, r)
                key = r.body
                me = self.anon().get("/auth/me/", token=key["key"])
                self.assertEqual(me.body["username"], user["username"])
                listed = self.admin.get("/users/%s/keys/" % user["id"])
                self.assertEqual(listed.status, 200, listed)
                self.assertIn(key["id"], [k["id"] for k in listed.body])
                self.assertNotIn(key["key"].encode(), listed.raw)
                r = self.admin.delete("/users/%s/keys/%s/" % (user["id"], key["id"]))
                self.assertEqual(r.status, 204, r)
                self.assertNotAuthenticated(self.anon().get("/auth/me/", token=key["key"]))


class UserAdminTest(DaemonTestCase):
        def test_admin_creates_a_user(self):
                name = unique("alice")
                r = self.admin.post("/users/", {"username": name, "password": "alice-password",
                                                "role": "normal", "first_name": "Alice",
                                                "last_name": "Liddell"})
                self.assertEqual(r.status, 201, r)
                u = r.body
                self.assertEqual(set(u), USER_FIELDS)
                self.assertEqual(u["username"], name)
                self.assertEqual(u["role"], "normal")
                self.assertEqual(u["first_name"], "Alice")
                self.assertEqual(u["last_name"], "Liddell")
                self.assertIs(u["mfa_enabled"], False)
                self.assertEqual(u["key_count"], 0)
                self.assertTimestamp(u["created_at"])
                self.assertNotIn(b"alice-password", r.raw)

                got = self.admin.get("/users/%s/" % u["id"])
                self.assertEqual(got.status, 200, got)
                self.assertEqual(got.body, u)

                key = self.daemon.login(name, "alice-password")
                me = self.anon().get("/users/me/", token=key)
                self.assertEqual(me.status, 200, me)
                self.assertEqual(me.body["id"], u["id"])
                self.assertEqual(me.body["role"], "normal")
                self.assertEqual(me.body["key_count"], 1)

        def test_role_defaults_to_normal(self):
                r = self.admin.post("/users/", {"username": unique("plain"),
                                                "password": "password-123"})
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.body["role"], "normal")

        def test_user_list(self):
                a, _ = self.make_user()
                b, _ = self.make_user()
                r = self.admin.get("/users/")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(set(r.body), {"users", "total"})
                names = [u["username"] for u in r.body["users"]]
                for n in (ADMIN_USER, a["username"], b["username"]):
                        self.assertIn(n, names)
                self.assertEqual(r.body["total"], len(r.body["users"]))
                for u in r.body["users"]:
                        self.assertEqual(set(u), USER_FIELDS)
                page = self.admin.get("/users/?limit=1&offset=1")
                self.assertEqual(page.status, 200, page)
                self.assertEqual(len(page.body["users"]), 1)
                self.assertEqual(page.body["total"], r.body["total"])
                self.assertEqual(page.body["users"][0]["id"], r.body["users"][1]["id"])

        def test_normal_user_is_not_an_admin(self):
                user, client = self.make_user()
                r = client.post("/users/", {"username": unique("x"), "password": "password-123"})
                self.assertEqual(r.status, 403, r)
                self.assertIsInstance(r.body.get("detail"), str)
                self.assertEqual(client.get("/users/").status, 403)
                self.assertEqual(client.get("/users/%s/" % self.admin_id).status, 403)
                self.assertEqual(client.patch("/users/%s/" % user["id"], {"role": "admin"}).status,
                                 403)
                self.assertEqual(client.get("/users/me/").body["role"], "normal")
                self.assertEqual(client.delete("/users/%s/" % self.admin_id).status, 403)
                self.assertEqual(client.post("/users/%s/keys/" % self.admin_id,
                                             {"name": "steal"}).status, 403)

        def test_duplicate_username(self):
                user, _ = self.make_user()
                r = self.admin.post("/users/", {"username": user["username"],
                                                "password": "password-123"})
                self.assertEqual(r.status, 409, r)
                self.assertIsInstance(r.body.get("detail"), str)

        def test_user_input_is_validated(self):
                self.assertValidation(self.admin.post("/users/", {"username": unique("s"),
                                                                  "password": "short"}),
                                      "password")
                self.assertValidation(self.admin.post("/users/", {"username": unique("r"),
                                                                  "password": "password-123",
                                                                  "role": "superuser"}),
                                      "role")
                self.assertValidation(self.admin.post("/users/", {"password": "password-123"}),
                                      "username")
                self.assertValidation(self.admin.post("/users/", {"username": "",
                                                                  "password": "password-123"}),
                                      "username")

        def test_unknown_user(self):
                self.assertEqual(self.admin.get("/users/987654321/").status, 404)
                self.assertEqual(self.admin.patch("/users/987654321/",
                                                  {"first_name": "x"}).status, 404)
                self.assertEqual(self.admin.delete("/users/987654321/").status, 404)

        def test_the_last_admin_stays(self):
                # Another admin can be demoted and deleted while we remain.
                second = self.admin.post("/users/", {"username": unique("admin"),
                                                     "password": "password-123",
                                                     "role": "admin"}).body
                third = self.admin.post("/users/", {"username": unique("admin"),
                                                    "password": "password-123",
                                                    "role": "admin"}).body
                r = self.admin.patch("/users/%s/" % second["id"], {"role": "normal"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["role"], "normal")
                r = self.admin.delete("/users/%s/" % third["id"])
                self.assertEqual(r.status, 204, r)
                # Now we are the only active admin.
                r = self.admin.patch("/users/%s/" % self.admin_id, {"role": "normal"})
                self.assertEqual(r.status, 409, r)
                r = self.admin.delete("/users/%s/" % self.admin_id)
                self.assertEqual(r.status, 409, r)
                me = self.admin.get("/users/me/")
                self.assertEqual(me.status, 200, me)
                self.assertEqual(me.body["role"], "admin")

        def test_admin_promotes_and_renames(self):
                user, client = self.make_user()
                r = self.admin.patch("/users/%s/" % user["id"], {"role": "admin",
                                                                 "first_name": "Promoted"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["role"], "admin")
                self.assertEqual(r.body["first_name"], "Promoted")
                self.assertEqual(client.get("/users/").status, 200)
                r = self.admin.patch("/users/%s/" % user["id"], {"role": "normal"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(client.get("/users/").status, 403)

        def test_admin_resets_a_password(self):
                # Without the old one, which the user may have forgotten.
                user, client = self.make_user()
                script = client.post("/users/me/keys/", {"name": "script"}).body["key"]
                r = self.admin.patch("/users/%s/" % user["id"], {"password": "reset-password-9"})
                self.assertEqual(r.status, 200, r)
                self.daemon.login(user["username"], "reset-password-9")
                r = self.anon().post("/auth/token/", {"username": user["username"],
                                                      "password": "user-password-1"})
                self.assertEqual(r.status, 401, r)
                # Every login of the user ends; a key made for a script stays; the admin's
                # own login goes on.
                self.assertNotAuthenticated(client.get("/auth/me/"))
                self.assertEqual(self.anon().get("/auth/me/", token=script).status, 200)
                self.assertEqual(self.admin.get("/auth/me/").status, 200)

        def test_an_admin_changing_their_own_password_stays_logged_in(self):
                admin, client = self.make_user(role="admin")
                # Others here count on one admin.
                self.addCleanup(lambda: self.assertEqual(self.admin.delete("/users/%d/" % admin["id"]).status, 204))
                r = client.patch("/users/%d/" % admin["id"], {"password": "admin-changed-1"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(client.get("/auth/me/").status, 200)

        def test_deleted_user_cannot_log_in(self):
                user, client = self.make_user()
                extra = client.post("/users/me/keys/", {"name": "extra"}).body["key"]
                r = self.admin.delete("/users/%s/" % user["id"])
                self.assertEqual(r.status, 204, r)
                r = self.anon().post("/auth/token/", {"username": user["username"],
                                                      "password": "user-password-1"})
                self.assertEqual(r.status, 401, r)
                self.assertEqual(r.body, {"detail": "Invalid credentials."})
                self.assertNotAuthenticated(client.get("/auth/me/"))
                self.assertNotAuthenticated(self.anon().get("/auth/me/", token=extra))


class ProfileTest(DaemonTestCase):
        def test_change_own_password(self):
                user, client = self.make_user()
                elsewhere = self.daemon.login(user["username"], "user-password-1")
                script = client.post("/users/me/keys/", {"name": "script"}).body["key"]
                r = client.patch("/users/me/", {"password": "a-new-password",
                                                "current_password": "user-password-1"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body["id"], user["id"])
                self.assertNotIn(b"a-new-password", r.raw)
                self.assertNotIn(b"user-password-1", r.raw)
                old = self.anon().post("/auth/token/", {"username": user["username"],
                                                        "password": "user-password-1"})
                self.assertEqual(old.status, 401, old)
                self.daemon.login(user["username"], "a-new-password")
                # The login that changed it goes on; any other login (a stolen one, say) ends;
                # a key made for a script stays until its owner revokes it.
                self.assertEqual(client.get("/auth/me/").status, 200)
                self.assertNotAuthenticated(self.anon().get("/auth/me/", token=elsewhere))
                self.assertEqual(self.anon().get("/auth/me/", token=script).status, 200)

        def test_a_key_alone_does_not_change_the_password(self):
                # Whoever holds a stolen key must not lock the owner out.
                user, client = self.make_user()
                self.assertValidation(client.patch("/users/me/", {"password": "taken-over-1"}),
                                      "current_password")
                r = client.patch("/users/me/", {"password": "taken-over-1",
                                                "current_password": "a-wrong-guess"})
                self.assertEqual(r.status, 403, r)
                self.assertEqual(r.body, {"detail": "The current password is wrong."})
                # The journal tells, as it tells of failed logins.
                self.assertIn("Refused a password change of user %d: wrong current password." % user["id"],
                              self.daemon.log())
                # Nothing else of the body was applied either.
                r = client.patch("/users/me/", {"password": "taken-over-1", "first_name": "Mallory",
                                                "current_password": "a-wrong-guess"})
                self.assertEqual(r.status, 403, r)
                self.assertEqual(client.get("/users/me/").body["first_name"], "")
                self.daemon.login(user["username"], "user-password-1")
                bad = self.anon().post("/auth/token/", {"username": user["username"],
                                                        "password": "taken-over-1"})
                self.assertEqual(bad.status, 401, bad)

        def test_password_changes_do_not_hold_up_other_requests(self):
                # As with logins: checking and hashing happen beside the event loop.
                def change(client):
                        return client.patch("/users/me/", {"password": "a-new-password",
                                                           "current_password": "user-password-1"})

                clients = [self.make_user()[1] for _ in range(8)]
                statuses = answered_during_a_burst(self, [lambda c=c: change(c) for c in clients])
                self.assertEqual(statuses, [200] * 8)

        def test_short_password_is_refused(self):
                user, client = self.make_user()
                self.assertValidation(client.patch("/users/me/", {"password": "1234567",
                                                                  "current_password": "user-password-1"}),
                                      "password")
                self.daemon.login(user["username"], "user-password-1")

        def test_change_own_name(self):
                user, client = self.make_user()
                r = client.patch("/users/me/", {"first_name": "Ada", "last_name": "Lovelace"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual((r.body["first_name"], r.body["last_name"]), ("Ada", "Lovelace"))
                me = client.get("/users/me/").body
                self.assertEqual((me["first_name"], me["last_name"]), ("Ada", "Lovelace"))
                self.assertEqual(me["role"], "normal")

        def test_cannot_promote_oneself(self):
                user, client = self.make_user()
                r = client.patch("/users/me/", {"role": "admin"})
                self.assertIn(r.status, (200, 422), r)
                self.assertEqual(client.get("/users/me/").body["role"], "normal")
                self.assertEqual(client.get("/users/").status, 403)
