"""A second factor for password logins (TOTP): setting it up, turning it on with a first
code, logging in with the token of the password and a code, replays, the limits on
guessing, turning it off, and an administrator turning it off over D-Bus. Codes are
computed here as an authenticator app computes them (RFC 6238)."""

import base64
import hashlib
import hmac
import os
import re
import sqlite3
import struct
import time
import unittest

import harness
from harness import DaemonTestCase, unique
from test_dbus import NOBODY, have_bus_tools
from test_dbus_admin import BusCase

PASSWORD = "mfa-password-1"
PAST = "2000-01-01T00:00:00.000000Z"


def totp(secret, step):
        """The 6-digit code of a base32 secret at a 30-second step."""
        key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
        mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
        offset = mac[-1] & 0x0f
        value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7fffffff
        return "%06d" % (value % 1000000)


def step_now():
        return int(time.time()) // 30


def wrong_code(secret, base):
        """A code no step near base has."""
        near = {totp(secret, base + d) for d in range(-3, 4)}
        return next("%06d" % n for n in range(1000000) if "%06d" % n not in near)


class MfaUser:
        """A user of the test, their client, and (once set up) their secret; base is the step
        whose code turned MFA on, so base + 1 is the next code not yet used."""

        def __init__(self, case, username=None):
                self.case = case
                self.user, self.client = case.make_user(username=username or unique("mfa"), password=PASSWORD)
                self.id = self.user["id"]
                self.name = self.user["username"]
                self.secret = None
                self.base = None

        def setup(self):
                r = self.client.post("/auth/mfa/setup/", {})
                self.case.assertEqual(r.status, 200, r)
                self.secret = r.body["secret"]
                return r.body

        def enable(self):
                self.setup()
                self.base = step_now()
                r = self.client.post("/auth/mfa/verify/", {"code": totp(self.secret, self.base)})
                self.case.assertEqual(r.status, 200, r)
                self.case.assertEqual(r.body, {"mfa_enabled": True})
                return self

        def password(self):
                """The answer of a password login: it must ask for the code."""
                r = self.case.anon().post("/auth/token/", {"username": self.name, "password": PASSWORD})
                self.case.assertEqual(r.status, 200, r)
                self.case.assertEqual(r.body["key"], "", r)
                self.case.assertIs(r.body["requires_mfa"], True, r)
                return r.body["mfa_token"]

        def code(self, offset=1):
                return totp(self.secret, self.base + offset)

        def wrong(self):
                return wrong_code(self.secret, self.base)


class MfaCase(DaemonTestCase):
        def sql(self, statement):
                """Runs statement on the daemon's database; the rows, as text or None."""
                if harness.BACKEND == "sqlite":
                        db = sqlite3.connect(os.path.join(self.daemon.state_dir, "pipelit.db"), timeout=10)
                        try:
                                with db:
                                        rows = db.execute(statement).fetchall()
                        finally:
                                db.close()
                        return [tuple(None if v is None else str(v) for v in row) for row in rows]
                out = harness.postgres().psql(self.daemon.database_name, statement)
                # psql -At: one line per row, "|" between columns, NULL as nothing.
                return [tuple(v or None for v in line.split("|")) for line in out.splitlines()]

        def new_minute(self, user):
                """Moves the user's minute of attempts into the past, as if a minute went by."""
                self.sql("UPDATE users SET mfa_window_start = '%s' WHERE id = %d" % (PAST, user.id))

        def login_verify(self, token, code):
                return self.anon().post("/auth/mfa/login-verify/", {"mfa_token": token, "code": code})

        def assertDetail(self, r, status, detail):
                self.assertEqual(r.status, status, r)
                self.assertEqual(r.body, {"detail": detail}, r)

        def assertLoggedIn(self, r, user):
                self.assertEqual(r.status, 200, r)
                self.assertIs(r.body["requires_mfa"], False, r)
                me = self.anon().get("/auth/me/", token=r.body["key"])
                self.assertEqual(me.status, 200, me)
                self.assertEqual(me.body["username"], user.name)


class MfaSetupTest(MfaCase):
        def test_setup_gives_a_secret_and_its_uri(self):
                user = MfaUser(self, unique("ann") + "@example.org")
                out = user.setup()
                self.assertEqual(set(out), {"secret", "provisioning_uri"})
                self.assertRegex(out["secret"], r"^[A-Z2-7]{32}$")
                label = user.name.replace("@", "%40")
                self.assertEqual(out["provisioning_uri"],
                                 "otpauth://totp/Pipelit:%s?secret=%s&issuer=Pipelit" % (label, out["secret"]))
                # Not on until a code confirms it: the password alone still logs in.
                self.assertEqual(user.client.get("/auth/mfa/status/").body, {"mfa_enabled": False})
                self.assertIs(user.client.get("/auth/me/").body["mfa_enabled"], False)
                r = self.anon().post("/auth/token/", {"username": user.name, "password": PASSWORD})
                self.assertLoggedIn(r, user)
                # Setting up again makes another secret.
                self.assertNotEqual(user.setup()["secret"], out["secret"])

        def test_the_secret_is_sealed_at_rest(self):
                user = MfaUser(self)
                secret = user.setup()["secret"]
                (stored,), = self.sql("SELECT totp_secret FROM users WHERE id = %d" % user.id)
                self.assertTrue(stored.startswith("v1:"), stored)
                self.assertNotIn(secret, stored)
                self.assertNotIn(secret.lower(), stored.lower())

        def test_verify_turns_it_on(self):
                user = MfaUser(self)
                user.setup()
                base = step_now()
                r = user.client.post("/auth/mfa/verify/", {"code": wrong_code(user.secret, base)})
                self.assertDetail(r, 400, "Invalid code.")
                self.assertEqual(user.client.get("/auth/mfa/status/").body, {"mfa_enabled": False})

                r = user.client.post("/auth/mfa/verify/", {"code": totp(user.secret, base)})
                self.assertEqual((r.status, r.body), (200, {"mfa_enabled": True}), r)
                self.assertEqual(user.client.get("/auth/mfa/status/").body, {"mfa_enabled": True})
                self.assertIs(user.client.get("/auth/me/").body["mfa_enabled"], True)
                self.assertIs(self.admin.get("/users/%d/" % user.id).body["mfa_enabled"], True)
                # On already: neither a new secret nor a second verify.
                self.assertDetail(user.client.post("/auth/mfa/setup/", {}), 409,
                                  "MFA is enabled already; disable it first.")
                self.assertDetail(user.client.post("/auth/mfa/verify/", {"code": totp(user.secret, base + 1)}),
                                  409, "MFA is enabled already.")

        def test_verify_and_disable_need_a_secret(self):
                user = MfaUser(self)
                self.assertDetail(user.client.post("/auth/mfa/verify/", {"code": "123456"}), 400,
                                  "MFA is not set up: POST /api/v1/auth/mfa/setup/ first.")
                self.assertDetail(user.client.post("/auth/mfa/disable/", {"code": "123456"}), 400,
                                  "MFA is not enabled.")

        def test_every_mfa_endpoint_but_login_verify_needs_a_key(self):
                for method, path in (("POST", "/auth/mfa/setup/"), ("POST", "/auth/mfa/verify/"),
                                     ("POST", "/auth/mfa/disable/"), ("GET", "/auth/mfa/status/"),
                                     ("POST", "/auth/logout/")):
                        with self.subTest(path=path):
                                body = {"code": "123456"} if method == "POST" else None
                                self.assertNotAuthenticated(self.anon().request(method, path, body))

        def test_disable_needs_a_code(self):
                user = MfaUser(self).enable()
                self.assertDetail(user.client.post("/auth/mfa/disable/", {"code": user.wrong()}), 400,
                                  "Invalid code.")
                self.assertEqual(user.client.get("/auth/mfa/status/").body, {"mfa_enabled": True})
                r = user.client.post("/auth/mfa/disable/", {"code": user.code()})
                self.assertEqual((r.status, r.body), (200, {"mfa_enabled": False}), r)
                self.assertEqual(user.client.get("/auth/mfa/status/").body, {"mfa_enabled": False})
                self.assertEqual(self.sql("SELECT totp_secret FROM users WHERE id = %d" % user.id), [(None,)])
                r = self.anon().post("/auth/token/", {"username": user.name, "password": PASSWORD})
                self.assertLoggedIn(r, user)


class MfaLoginTest(MfaCase):
        def test_login_asks_for_the_code(self):
                user = MfaUser(self).enable()
                r = self.anon().post("/auth/token/", {"username": user.name, "password": PASSWORD})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(set(r.body), {"key", "requires_mfa", "mfa_token"})
                self.assertEqual((r.body["key"], r.body["requires_mfa"]), ("", True))
                token = r.body["mfa_token"]
                self.assertRegex(token, r"^[0-9a-f]{64}$")
                # The token is no key.
                self.assertNotAuthenticated(self.anon().get("/auth/me/", token=token))
                # A wrong password gets no token.
                r = self.anon().post("/auth/token/", {"username": user.name, "password": "wrong-password"})
                self.assertDetail(r, 401, "Invalid credentials.")

                self.assertDetail(self.login_verify(token, user.wrong()), 401, "Invalid code.")
                # The token survives a typo; the right code logs in and uses it up.
                r = self.login_verify(token, user.code())
                self.assertLoggedIn(r, user)
                self.assertDetail(self.login_verify(token, user.code(2)), 401,
                                  "Invalid or expired MFA token; log in again.")

        def test_a_code_is_used_once(self):
                user = MfaUser(self).enable()
                self.assertLoggedIn(self.login_verify(user.password(), user.code()), user)
                # Seen by someone looking over the shoulder, and tried with a new token.
                r = self.login_verify(user.password(), user.code())
                self.assertDetail(r, 401, "This code was used already; wait for the next one.")
                # So is the code that turned MFA on, and any before it.
                r = self.login_verify(user.password(), user.code(0))
                self.assertDetail(r, 401, "This code was used already; wait for the next one.")

        def test_the_password_is_not_skipped(self):
                # The reference took {username, code}: a code alone, without the password.
                user = MfaUser(self).enable()
                r = self.anon().post("/auth/mfa/login-verify/", {"username": user.name, "code": user.code()})
                self.assertValidation(r, "mfa_token")
                self.assertDetail(self.login_verify("0" * 64, user.code()), 401,
                                  "Invalid or expired MFA token; log in again.")
                # The code was not spent on those.
                self.assertLoggedIn(self.login_verify(user.password(), user.code()), user)

        def test_the_token_expires(self):
                user = MfaUser(self).enable()
                token = user.password()
                self.sql("UPDATE mfa_login_tokens SET expires_at = '%s' WHERE user_id = %d" % (PAST, user.id))
                self.assertDetail(self.login_verify(token, user.code()), 401,
                                  "Invalid or expired MFA token; log in again.")
                # A fresh one works, and expired ones are cleared away.
                self.assertLoggedIn(self.login_verify(user.password(), user.code()), user)
                self.assertEqual(self.sql("SELECT COUNT(*) FROM mfa_login_tokens WHERE user_id = %d" % user.id),
                                 [("0",)])

        def test_turning_mfa_off_drops_waiting_tokens(self):
                user = MfaUser(self).enable()
                token = user.password()
                r = user.client.post("/auth/mfa/disable/", {"code": user.code()})
                self.assertEqual(r.status, 200, r)
                self.assertDetail(self.login_verify(token, user.code(2)), 401,
                                  "Invalid or expired MFA token; log in again.")

        def test_bad_input_is_refused(self):
                user = MfaUser(self).enable()
                token = user.password()
                for body, field in (({"mfa_token": token}, "code"),
                                    ({"code": "123456"}, "mfa_token"),
                                    ({"mfa_token": "", "code": "123456"}, "mfa_token"),
                                    ({"mfa_token": 5, "code": "123456"}, "mfa_token"),
                                    ({"mfa_token": token, "code": 123456}, "code"),
                                    ({"mfa_token": token, "code": "12345"}, "code"),
                                    ({"mfa_token": token, "code": "1234567"}, "code"),
                                    ({"mfa_token": token, "code": "12345a"}, "code"),
                                    ({"mfa_token": token, "code": " 123456"}, "code"),
                                    ({"mfa_token": token, "code": None}, "code"),
                                    ({"mfa_token": ["x"], "code": "0" * 10000}, "code")):
                        with self.subTest(body=body):
                                r = self.anon().post("/auth/mfa/login-verify/", body)
                                self.assertValidation(r, field)
                for raw in ("{", "[]", "", "null", '"code"'):
                        with self.subTest(raw=raw):
                                r = self.anon().post("/auth/mfa/login-verify/", raw_body=raw)
                                self.assertIn(r.status, (400, 422), r)
                                self.assertIn("detail", r.body, r)
                for path in ("/auth/mfa/verify/", "/auth/mfa/disable/"):
                        with self.subTest(path=path):
                                self.assertValidation(user.client.post(path, {"code": "abc"}), "code")
                                self.assertValidation(user.client.post(path, {}), "code")
                # None of that counted as an attempt: the right code still gets in at once.
                self.assertLoggedIn(self.login_verify(token, user.code()), user)
                self.assertHealthy()

        def test_the_reference_reset_points_to_the_server(self):
                r = self.anon().post("/auth/mfa/reset/", {})
                self.assertDetail(r, 403, "MFA is reset on the server, by an administrator: "
                                          "pipelitctl user disable-mfa USERNAME.")


class MfaGuessingTest(MfaCase):
        def test_five_codes_a_minute(self):
                user = MfaUser(self).enable()
                self.new_minute(user)
                token = user.password()
                for _ in range(5):
                        self.assertDetail(self.login_verify(token, user.wrong()), 401, "Invalid code.")
                # The sixth is not even looked at, right or wrong.
                r = self.login_verify(token, user.code())
                self.assertEqual(r.status, 429, r)
                m = re.fullmatch(r"Too many codes tried; try again in (\d+) seconds\.", r.body["detail"])
                self.assertTrue(m, r)
                self.assertTrue(1 <= int(m.group(1)) <= 60, r)
                # The same limit holds for the user's own endpoints.
                r = user.client.post("/auth/mfa/disable/", {"code": user.code()})
                self.assertEqual(r.status, 429, r)
                self.assertEqual(user.client.get("/auth/mfa/status/").body, {"mfa_enabled": True})
                # A minute later the right code gets in.
                self.new_minute(user)
                self.assertLoggedIn(self.login_verify(token, user.code()), user)

        def wrong_codes(self, user, token, n):
                """n wrong codes, a new minute before every fifth."""
                for i in range(n):
                        if i % 5 == 0:
                                self.new_minute(user)
                        self.assertDetail(self.login_verify(token, user.wrong()), 401, "Invalid code.")

        def test_ten_wrong_codes_lock_it(self):
                user = MfaUser(self).enable()
                token = user.password()
                self.wrong_codes(user, token, 9)
                r = self.login_verify(token, user.wrong())
                self.assertDetail(r, 429, "Too many wrong codes: MFA is locked; try again in 15 minutes.")
                # Locked: the right code is not looked at, whatever the minute.
                self.new_minute(user)
                r = self.login_verify(token, user.code())
                self.assertEqual(r.status, 429, r)
                self.assertRegex(r.body["detail"], r"^Too many wrong codes: MFA is locked; try again in 1[45] minutes\.$")
                r = user.client.post("/auth/mfa/disable/", {"code": user.code()})
                self.assertEqual(r.status, 429, r)
                # Fifteen minutes later it is open again.
                self.sql("UPDATE users SET mfa_locked_until = '%s' WHERE id = %d" % (PAST, user.id))
                self.assertLoggedIn(self.login_verify(token, user.code()), user)

        def test_a_right_code_ends_the_run_of_wrong_ones(self):
                user = MfaUser(self).enable()
                token = user.password()
                self.wrong_codes(user, token, 9)
                self.new_minute(user)
                self.assertLoggedIn(self.login_verify(token, user.code()), user)
                # Counting starts again: one more wrong code locks nothing.
                self.wrong_codes(user, user.password(), 1)
                self.assertEqual(self.sql("SELECT mfa_locked_until FROM users WHERE id = %d" % user.id), [(None,)])

        def test_the_limits_are_per_user(self):
                locked = MfaUser(self).enable()
                other = MfaUser(self).enable()
                self.wrong_codes(locked, locked.password(), 10 - 1)
                self.assertEqual(self.login_verify(locked.password(), locked.wrong()).status, 429)
                self.assertLoggedIn(self.login_verify(other.password(), other.code()), other)


@unittest.skipUnless(have_bus_tools(), "needs dbus-daemon, busctl, dbus-send and pipelitctl")
class MfaBusTest(BusCase, MfaCase):
        """The way back in for a user who lost their authenticator: an administrator's
        DisableMfa, or pipelitctl user disable-mfa."""

        def test_pipelitctl_turns_mfa_off(self):
                user = MfaUser(self).enable()
                token = user.password()
                p = self.ctl_ok("user", "disable-mfa", user.name)
                self.assertEqual(p.out, "")
                self.assertEqual(user.client.get("/auth/mfa/status/").body, {"mfa_enabled": False})
                r = self.anon().post("/auth/token/", {"username": user.name, "password": PASSWORD})
                self.assertLoggedIn(r, user)
                # Tokens waiting for a code are gone with it; doing it again is no error.
                self.assertEqual(self.login_verify(token, user.code()).status, 401)
                self.ctl_ok("user", "disable-mfa", user.name)
                self.assertIn("Turned MFA off for user '%s'" % user.name, self.daemon.log())
                # Set up again from scratch, the user can turn it on anew.
                user.enable()

        def test_disable_mfa_refusals(self):
                name, text = self.call_error("DisableMfa", "s", "no-such-user")
                self.assertEqual((name, text), ("org.pipelit.Pipelit1.Error.NoSuchUser",
                                                "User 'no-such-user' not found."))
                p = self.ctl("user", "disable-mfa", "no-such-user")
                self.assertEqual(p.returncode, 1, p.err)
                self.assertIn("not found", p.err)
                p = self.ctl("user", "disable-mfa")
                self.assertEqual(p.returncode, 2, p.err)

        @unittest.skipUnless(os.geteuid() == 0, "needs root to call as another user")
        def test_only_administrators_may(self):
                user = MfaUser(self).enable()
                error, text = self.call_error("DisableMfa", "s", user.name, uid=NOBODY)
                self.assertEqual(error, "org.freedesktop.DBus.Error.AccessDenied")
                self.assertIn("Only root and the daemon's own user may call DisableMfa", text)
                self.assertEqual(user.client.get("/auth/mfa/status/").body, {"mfa_enabled": True})
