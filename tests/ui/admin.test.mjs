// The browser UI's credentials, schedules, users and settings pages against a real
// pipelitd (and the fake LLM provider for a credential's test and models): what an admin
// adds, tests, pauses and revokes there, and what a normal user does not see.
// Screenshots in PIPELIT_UI_ARTIFACTS/admin.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ADMIN, Api } from "./lib/daemon.mjs";
import { openSession, WAIT } from "./lib/session.mjs";

// Long enough to be masked as its first and last four characters.
const PROVIDER_KEY = "sk-pipelit-ui-0123456789abcdef";
const USER = { username: "casey", password: "casey-password-1" };

const SCHEDULED_FLOW = {
  format: "pipelit-workflow",
  version: 1,
  workflow: { name: "Nightly digest", is_active: true },
  nodes: [
    { node_id: "clock", component_type: "trigger_schedule" },
    { node_id: "say", component_type: "reply_chat", config: { extra_config: { message: "digest" } } },
  ],
  edges: [{ source_node_id: "clock", target_node_id: "say" }],
};

/** tests/fake-llm/fake_llm.py as a process; its port. Ends when its stdin closes. */
async function startFakeProvider() {
  const script = join(process.env.PIPELIT_SRCDIR, "tests/fake-llm/fake_llm.py");
  const child = spawn(process.env.PYTHON3 ?? "python3",
    [script, "--port", "0", "--watch-stdin", "--openai-key", PROVIDER_KEY], { stdio: ["pipe", "pipe", "inherit"] });
  const [line] = await Promise.race([
    once(child.stdout, "data"),
    once(child, "exit").then(([code]) => { throw new Error(`fake_llm.py exited with ${code}`); }),
  ]);
  return { child, port: Number(String(line).trim()) };
}

describe("browser UI: credentials, schedules, users and settings", () => {
  let session, daemon, page, api, artifacts, fake;

  before(async () => {
    fake = await startFakeProvider();
    session = await openSession({ screenshots: "admin" });
    ({ daemon, page, api, artifacts } = session);
  });

  after(async () => {
    fake?.child.stdin.end();
    if (!session) return;
    const { code, log } = await session.close();
    assert.equal(code, 0, `pipelitd exited with ${code}:\n${log}`);
  });

  const nav = (label) => page.locator("nav").getByRole("link", { name: label, exact: true });
  const form = (label) => page.getByRole("form", { name: label });

  it("adds an LLM credential, shows its key masked, tests it, lists its models and deletes it", async () => {
    await nav("Credentials").click();
    await page.getByRole("heading", { name: "Credentials" }).waitFor(WAIT);
    await page.getByRole("button", { name: "Add credential" }).click();
    const add = form("New credential");
    await add.getByLabel("Name", { exact: true }).fill("Local models");
    await add.getByLabel("Provider").selectOption("openai_compatible");
    await add.getByLabel("API key").fill(PROVIDER_KEY);
    // Refused by the server, which says why.
    await add.getByLabel("Base URL").fill("ftp://127.0.0.1/v1");
    await add.getByRole("button", { name: "Add credential" }).click();
    await add.getByRole("alert").filter({ hasText: "base_url" }).waitFor(WAIT);
    await artifacts.shot(page, "credential-refused");

    await add.getByLabel("Base URL").fill(`http://127.0.0.1:${fake.port}/v1`);
    await add.getByRole("button", { name: "Add credential" }).click();
    const row = page.locator('tr[data-name="Local models"]');
    await row.waitFor(WAIT);
    assert.equal(await add.count(), 0, "the form closes once the credential is added");
    assert.equal((await row.getByTestId("secrets").textContent()).trim(), "api_key: sk-p****cdef");
    assert.ok(!(await page.content()).includes(PROVIDER_KEY), "the key is never shown back");

    await row.getByRole("button", { name: "Test" }).click();
    const result = row.getByTestId("test-result");
    await result.waitFor(WAIT);
    assert.equal(await result.getAttribute("data-ok"), "true");
    assert.match(await result.textContent(), /Authenticated; 1 model available\./);
    await row.getByRole("button", { name: "Models" }).click();
    await page.getByTestId("model-list").getByText("fake-model").waitFor(WAIT);
    await artifacts.shot(page, "credential-tested");

    // A wrong key: the test says so in the provider's words.
    const wrong = await api.post("/credentials/", { name: "Wrong key", credential_type: "llm",
      detail: { provider_type: "openai_compatible", api_key: "sk-wrong", base_url: `http://127.0.0.1:${fake.port}/v1` } });
    await page.reload();
    const wrongRow = page.locator('tr[data-name="Wrong key"]');
    await wrongRow.getByRole("button", { name: "Test" }).click();
    await wrongRow.getByTestId("test-result").filter({ hasText: "Authentication failed" }).waitFor(WAIT);
    assert.equal(await wrongRow.getByTestId("test-result").getAttribute("data-ok"), "false");
    await artifacts.shot(page, "credential-test-failed");

    for (const name of ["Local models", "Wrong key"]) {
      const r = page.locator(`tr[data-name="${name}"]`);
      await r.getByRole("button", { name: "Delete" }).click();
      await r.getByRole("button", { name: "Delete for good" }).click();
      await r.waitFor({ state: "detached", ...WAIT });
    }
    await api.request("GET", `/credentials/${wrong.id}/`, undefined, 404);
    assert.equal((await api.get("/credentials/")).total, 0);
  });

  it("creates a schedule, pauses, resumes and deletes it", async () => {
    const { slug } = await api.post("/workflows/import/", SCHEDULED_FLOW);
    await nav("Schedules").click();
    await page.getByRole("button", { name: "New schedule" }).click();
    const add = form("New schedule");
    await add.getByLabel("Name", { exact: true }).fill("Morning digest");
    await add.getByLabel("Workflow").selectOption(slug);
    await add.getByLabel("Trigger").locator('option[value="clock"]').waitFor({ state: "attached", ...WAIT });
    await add.getByLabel("Trigger").selectOption("clock");
    await add.getByLabel("Every").fill("2");
    await add.getByLabel("Unit").selectOption({ label: "hours" });
    await artifacts.shot(page, "schedule-form");
    await add.getByRole("button", { name: "Create schedule" }).click();

    const row = page.locator('tr[data-name="Morning digest"]');
    await row.waitFor(WAIT);
    assert.equal(await row.getAttribute("data-status"), "active");
    await row.getByText("every 2 hours").waitFor(WAIT);
    await row.getByTestId("next-run").getByText(/in 2(\.0)? h/).waitFor(WAIT);
    const [created] = (await api.get("/schedules/")).items;
    assert.equal(created.interval_seconds, 7200);
    assert.equal(created.trigger_node_id, "clock");
    await artifacts.shot(page, "schedule-created");

    await row.getByRole("button", { name: "Pause" }).click();
    await page.locator('tr[data-name="Morning digest"][data-status="paused"]').waitFor(WAIT);
    assert.equal((await row.getByTestId("next-run").textContent()).trim(), "—");
    assert.equal((await api.get(`/schedules/${created.id}/`)).status, "paused");
    await artifacts.shot(page, "schedule-paused");
    await row.getByRole("button", { name: "Resume" }).click();
    await page.locator('tr[data-name="Morning digest"][data-status="active"]').waitFor(WAIT);
    assert.equal((await api.get(`/schedules/${created.id}/`)).status, "active");

    await row.getByRole("button", { name: "Delete" }).click();
    await row.getByRole("button", { name: "Delete for good" }).click();
    await row.waitFor({ state: "detached", ...WAIT });
    await page.getByText("No schedules yet.").waitFor(WAIT);
    await api.request("GET", `/schedules/${created.id}/`, undefined, 404);
  });

  it("creates a user and an API key shown once, and revokes the key", async () => {
    await nav("Users").click();
    const add = form("New user");
    // A name the server refuses, saying why.
    await add.getByLabel("Username").fill("no spaces please");
    await add.getByLabel("Password").fill(USER.password);
    await add.getByLabel("Role").selectOption("normal");
    await add.getByRole("button", { name: "Create user" }).click();
    await add.getByRole("alert").filter({ hasText: "username" }).waitFor(WAIT);
    await add.getByLabel("Username").fill(USER.username);
    await add.getByRole("button", { name: "Create user" }).click();
    const row = page.locator(`tr[data-username="${USER.username}"]`);
    await row.waitFor(WAIT);
    await row.getByText("normal").waitFor(WAIT);

    await row.getByRole("button", { name: "API keys" }).click();
    const keys = page.locator(`tr[data-keys-of="${USER.username}"]`);
    await keys.getByText("No API keys.").waitFor(WAIT);
    await keys.getByLabel("Key name").fill("deploy bot");
    await keys.getByRole("button", { name: "Create key" }).click();
    const shown = keys.getByTestId("new-key-value");
    await shown.waitFor(WAIT);
    const key = (await shown.textContent()).trim();
    const asUser = new Api(daemon.url, key);
    assert.equal((await asUser.get("/auth/me/")).username, USER.username);
    const keyRow = keys.locator('tr[data-name="deploy bot"]');
    await keyRow.getByText(`${key.slice(0, 8)}…`).waitFor(WAIT);
    assert.equal((await row.locator("td.num").textContent()).trim(), "1");
    await artifacts.shot(page, "key-shown-once");

    await keys.getByRole("button", { name: "Done" }).click();
    await shown.waitFor({ state: "detached", ...WAIT });
    assert.ok(!(await page.content()).includes(key), "the key is shown only once");
    await keyRow.getByRole("button", { name: "Revoke" }).click();
    await keyRow.getByRole("button", { name: "Revoke for good" }).click();
    await keys.locator('tr[data-name="deploy bot"][data-active="false"]').getByText("revoked").waitFor(WAIT);
    assert.equal((await row.locator("td.num").textContent()).trim(), "0");
    await asUser.request("GET", "/auth/me/", undefined, 401);
    await artifacts.shot(page, "key-revoked");
  });

  it("changes the admin's names and password, and the theme", async () => {
    await nav("Settings").click();
    const account = page.getByTestId("account");
    await account.getByText("admin", { exact: true }).first().waitFor(WAIT);
    await account.getByLabel("First name").fill("Ada");
    await account.getByRole("button", { name: "Save names" }).click();
    await account.getByRole("status").filter({ hasText: "Saved." }).waitFor(WAIT);
    assert.equal((await api.get("/users/me/")).first_name, "Ada");
    // Another login of the admin's, which the new password ends.
    const elsewhere = new Api(daemon.url);
    await elsewhere.login();
    await page.reload();
    const sessions = page.getByTestId("api-keys").locator('tr[data-name="session"]');
    await sessions.nth(1).waitFor(WAIT);
    const password = page.getByRole("form", { name: "Change password" });
    await password.getByLabel("Current password").fill("not-the-password");
    await password.getByLabel("New password", { exact: true }).fill("a-new-password-2");
    await password.getByLabel("New password again").fill("a-new-password-3");
    await password.getByRole("button", { name: "Change password" }).click();
    await password.getByRole("alert").filter({ hasText: "The two passwords differ." }).waitFor(WAIT);
    await password.getByLabel("New password again").fill("a-new-password-2");
    await password.getByRole("button", { name: "Change password" }).click();
    // Without the current password, a key left in a browser does not change it.
    await password.getByRole("alert").filter({ hasText: "The current password is wrong." }).waitFor(WAIT);
    await password.getByLabel("Current password").fill(ADMIN.password);
    await password.getByRole("button", { name: "Change password" }).click();
    await password.getByRole("status").filter({ hasText: "Password changed." }).waitFor(WAIT);
    // The old one is refused (logging in with the new one would replace this page's key).
    await new Api(daemon.url).request("POST", "/auth/token/", ADMIN, 401);
    // This page's login (whose key the test's API client shares) goes on; the other one
    // ended, and the key list shows it gone.
    await api.request("GET", "/auth/me/", undefined, 200);
    await elsewhere.request("GET", "/auth/me/", undefined, 401);
    await sessions.nth(1).waitFor({ ...WAIT, state: "detached" });
    await page.getByRole("radio", { name: "Dark" }).check();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    // This browser's own key is marked, so nobody revokes it unawares.
    await page.getByTestId("api-keys").locator('tr[data-name="session"]').getByText("(this browser)").waitFor(WAIT);
    await artifacts.shot(page, "settings");
    await page.getByRole("radio", { name: "Light" }).check();
  });

  it("shows a normal user no admin pages, and deletes the user", async () => {
    const context = await session.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const theirs = await context.newPage();
    await theirs.goto(daemon.url + "/");
    await theirs.getByLabel("Username").fill(USER.username);
    await theirs.getByLabel("Password").fill(USER.password);
    await theirs.getByRole("button", { name: "Log in" }).click();
    await theirs.getByRole("heading", { name: "Workflows" }).waitFor(WAIT);
    const links = theirs.locator("nav").getByRole("link");
    await links.getByText("Settings").waitFor(WAIT);
    assert.deepEqual(await links.allTextContents(), ["Workflows", "Executions", "Schedules", "Credentials", "Settings"]);
    await artifacts.shot(theirs, "normal-user");
    await theirs.goto(daemon.url + "/users");
    await theirs.getByTestId("admins-only").waitFor(WAIT);
    await theirs.locator("nav").getByRole("link", { name: "Settings" }).click();
    await theirs.getByTestId("account").getByText("normal", { exact: true }).waitFor(WAIT);
    await artifacts.shot(theirs, "normal-user-settings");
    await context.close();

    await nav("Users").click();
    const row = page.locator(`tr[data-username="${USER.username}"]`);
    await row.getByRole("button", { name: "Delete" }).click();
    await row.getByRole("button", { name: "Delete for good" }).click();
    await row.waitFor({ state: "detached", ...WAIT });
    assert.deepEqual((await api.get("/users/")).users.map((u) => u.username), ["admin"]);
    await new Api(daemon.url).request("POST", "/auth/token/", USER, 401);
  });
});
