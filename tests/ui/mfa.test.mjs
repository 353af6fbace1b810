// Two-factor authentication in the browser against a real pipelitd: turning it on and off
// from the settings with codes computed as an authenticator app computes them (RFC 6238),
// then logging out and in again with the password and a code. Screenshots in
// PIPELIT_UI_ARTIFACTS/mfa.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ADMIN } from "./lib/daemon.mjs";
import { openSession, WAIT } from "./lib/session.mjs";

function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const bytes = [];
  for (const c of text.replace(/[\s=]/g, "").toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** The 6-digit code of a base32 secret at a 30-second step. */
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, "0");
}

const stepNow = () => Math.floor(Date.now() / 30000);

/** A code no step near base has. */
function wrongCode(secret, base) {
  const near = new Set([-3, -2, -1, 0, 1, 2, 3].map((d) => totp(secret, base + d)));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, "0");
    if (!near.has(code)) return code;
  }
}

describe("browser UI: two-factor authentication", () => {
  let session, daemon, page, api, artifacts;

  before(async () => {
    session = await openSession({ screenshots: "mfa" });
    ({ daemon, page, api, artifacts } = session);
  });

  after(async () => {
    const { code, log } = await session.close();
    assert.equal(code, 0, `pipelitd exited with ${code}:\n${log}`);
  });

  it("turns two-factor on and off from the settings", async () => {
    await page.locator("nav").getByRole("link", { name: "Settings" }).click();
    await page.getByRole("link", { name: "Set up two-factor authentication" }).click();
    await page.getByRole("heading", { name: "Two-factor authentication" }).waitFor(WAIT);
    const setup = page.getByTestId("mfa-setup");
    await setup.getByRole("button", { name: "Set up two-factor authentication" }).click();
    const secret = (await setup.getByTestId("mfa-secret").textContent()).replace(/\s/g, "");
    assert.match(await setup.getByTestId("mfa-uri").getAttribute("href"),
      new RegExp(`^otpauth://totp/Pipelit:admin\\?secret=${secret}&issuer=Pipelit$`));
    await artifacts.shot(page, "secret-shown");

    const base = stepNow();
    await setup.getByLabel("Code from the app").fill(wrongCode(secret, base));
    await setup.getByRole("button", { name: "Turn on" }).click();
    await setup.getByRole("alert").filter({ hasText: "Invalid code." }).waitFor(WAIT);
    await setup.getByLabel("Code from the app").fill(totp(secret, base));
    await setup.getByRole("button", { name: "Turn on" }).click();
    await setup.getByRole("status").filter({ hasText: "is on" }).waitFor(WAIT);
    assert.deepEqual(await api.get("/auth/mfa/status/"), { mfa_enabled: true });
    await artifacts.shot(page, "turned-on");

    await setup.getByLabel("Code from the app").fill(totp(secret, base + 1));
    await setup.getByRole("button", { name: "Turn off" }).click();
    await setup.getByRole("button", { name: "Set up two-factor authentication" }).waitFor(WAIT);
    assert.deepEqual(await api.get("/auth/mfa/status/"), { mfa_enabled: false });
  });

  it("asks for the code after the password", async () => {
    const { secret } = await api.post("/auth/mfa/setup/", {}, 200);
    const base = stepNow();
    await api.post("/auth/mfa/verify/", { code: totp(secret, base) }, 200);

    // Logging out ends this browser's key on the server too.
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByLabel("Username").waitFor(WAIT);
    await api.request("GET", "/auth/me/", undefined, 401);

    await page.getByLabel("Username").fill(ADMIN.username);
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Log in" }).click();
    const code = page.getByLabel("Authentication code");
    await code.waitFor(WAIT);
    await code.fill(wrongCode(secret, base));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("alert").filter({ hasText: "Invalid code." }).waitFor(WAIT);
    await artifacts.shot(page, "code-asked");

    await code.fill(totp(secret, base + 1));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("button", { name: "Log out" }).waitFor(WAIT);
    api.key = await page.evaluate(() => sessionStorage.getItem("pipelit.key"));
    assert.equal((await api.get("/auth/me/")).mfa_enabled, true);
    await artifacts.shot(page, "logged-in");
  });
});
