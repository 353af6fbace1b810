// The browser UI against a real pipelitd: log in, the dashboard, creating a workflow, its
// canvas following changes made through the API, a failing run's red badge and error, the
// run's page, a second tab seeing a rename made in the first, the daemon restarting under
// an open page, and the dark theme. Each step leaves a screenshot in
// PIPELIT_UI_ARTIFACTS/live.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ADMIN } from "./lib/daemon.mjs";
import { openSession, WAIT } from "./lib/session.mjs";

describe("browser UI: live canvas", () => {
  let session, daemon, context, page, api, artifacts;
  let slug;
  const sockets = [];

  before(async () => {
    // Heartbeats every second: the page must answer them to keep its socket.
    session = await openSession({
      config: "WebSocketPingSec=1\nWebSocketPongTimeoutSec=1\n", login: false, screenshots: "live",
    });
    ({ daemon, context, page, api, artifacts } = session);
    page.on("websocket", (ws) => sockets.push(ws));
  });

  after(async () => {
    const { code, log } = await session.close();
    // A clean exit (under AddressSanitizer: no leak, no error).
    assert.equal(code, 0, `pipelitd exited with ${code}:\n${log}`);
  });

  it("logs in", async () => {
    await page.goto(daemon.url + "/");
    await page.getByLabel("Username").fill(ADMIN.username);
    await page.getByLabel("Password").fill("wrong-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").filter({ hasText: "Invalid credentials." }).waitFor(WAIT);
    await artifacts.shot(page, "login-refused");
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Workflows" }).waitFor(WAIT);
    await page.locator("[data-testid=connection]", { hasText: "live" }).waitFor(WAIT);
    // The page holds its key in sessionStorage, and the API takes it.
    api.key = await page.evaluate(() => sessionStorage.getItem("pipelit.key"));
    assert.ok(api.key, "no key in sessionStorage");
    assert.equal((await api.get("/auth/me/")).username, ADMIN.username);
    await artifacts.shot(page, "dashboard");
  });

  it("creates a workflow", async () => {
    await page.getByPlaceholder("New workflow name").fill("Browser test flow");
    await page.getByRole("button", { name: "Create" }).click();
    const link = page.getByRole("link", { name: "Browser test flow" });
    await link.waitFor(WAIT);
    const list = await api.get("/workflows/");
    const created = list.items.find((w) => w.name === "Browser test flow");
    assert.ok(created, "the workflow is not in the API's list");
    slug = created.slug;
    assert.equal(await page.locator(`tr[data-slug="${slug}"]`).count(), 1);
    await artifacts.shot(page, "workflow-created");
  });

  it("opens its canvas", async () => {
    await page.getByRole("link", { name: "Browser test flow" }).click();
    await page.waitForURL(`**/workflows/${slug}`, WAIT);
    await page.locator("[data-live=subscribed]").waitFor(WAIT);
    assert.equal(await page.getByTestId("workflow-name").textContent(), "Browser test flow");
    await page.getByText("No nodes yet.").waitFor(WAIT);
    await artifacts.shot(page, "canvas-empty");
  });

  it("shows nodes and edges added through the API as they come", async () => {
    await api.post(`/workflows/${slug}/nodes/`, { component_type: "trigger_manual", node_id: "start" });
    await page.locator('[data-node-id="start"]').waitFor(WAIT);
    await api.post(`/workflows/${slug}/nodes/`, {
      component_type: "reply_chat", node_id: "answer", label: "Answer",
      config: { extra_config: { message: "{{ nowhere.output }}" } },
    });
    await api.post(`/workflows/${slug}/edges/`, { source_node_id: "start", target_node_id: "answer" });
    await page.locator('[data-node-id="answer"]').waitFor(WAIT);
    await page.locator(".react-flow__edge").first().waitFor(WAIT);
    assert.equal(await page.locator(".react-flow__edge").count(), 1);
    assert.equal(await page.locator('[data-node-id="answer"] .node-label').textContent(), "Answer");
    await artifacts.shot(page, "canvas-live-nodes");
  });

  it("turns a failing node red with its error", async () => {
    await page.getByRole("button", { name: "Run" }).click();
    const failed = page.locator('[data-node-id="answer"][data-status="failed"]');
    await failed.waitFor(WAIT);
    const error = await failed.getByTestId("node-error").textContent();
    assert.match(error, /nowhere/);
    await page.getByTestId("live-run").locator('[data-status="failed"]').waitFor(WAIT);
    await artifacts.shot(page, "canvas-failed-node");
    // The node's panel says the same.
    await failed.click();
    await page.getByTestId("node-panel").getByRole("alert").filter({ hasText: "nowhere" }).waitFor(WAIT);
    await artifacts.shot(page, "canvas-node-panel");
  });

  it("shows the run with its node log", async () => {
    await page.getByRole("link", { name: "Last run" }).click();
    await page.locator('[data-testid=execution][data-status="failed"]').waitFor(WAIT);
    assert.match(await page.getByTestId("execution-error").textContent(), /^Node answer: .*nowhere/);
    const row = page.getByTestId("log-table").locator('tr[data-node-id="answer"]');
    await row.waitFor(WAIT);
    assert.match(await row.textContent(), /failed/);
    await artifacts.shot(page, "execution-detail");
    await page.getByRole("link", { name: "Executions" }).click();
    await page.getByTestId("execution-table").locator('[data-status="failed"]').first().waitFor(WAIT);
    await artifacts.shot(page, "executions-list");
    await page.goBack();
    await page.goBack();
    await page.locator("[data-live=subscribed]").waitFor(WAIT);
  });

  it("shows a rename made in one tab in another", async () => {
    // A new tab gets the session from the open one (no second login).
    const second = await context.newPage();
    await second.goto(`${daemon.url}/workflows/${slug}`);
    await second.locator("[data-live=subscribed]").waitFor(WAIT);
    await page.getByRole("button", { name: "Rename" }).click();
    await page.getByLabel("Name").fill("Renamed in tab one");
    await page.getByRole("button", { name: "Save" }).click();
    await second.getByTestId("workflow-name").filter({ hasText: "Renamed in tab one" }).waitFor(WAIT);
    await page.getByTestId("workflow-name").filter({ hasText: "Renamed in tab one" }).waitFor(WAIT);
    await artifacts.shot(second, "second-tab-renamed");
    // And a node deleted elsewhere leaves both.
    await api.request("DELETE", `/workflows/${slug}/nodes/answer/`, undefined, 204);
    await page.locator('[data-node-id="answer"]').waitFor({ state: "detached", ...WAIT });
    await second.locator('[data-node-id="answer"]').waitFor({ state: "detached", ...WAIT });
    await second.close();
  });

  it("answers the server's pings and keeps one socket", async () => {
    // WebSocketPingSec=1: several pings have come by now; a page that did not answer
    // would have been cut off (1008) and opened another socket.
    await page.waitForTimeout(2500);
    assert.equal(sockets.length, 1, `the page opened ${sockets.length} sockets`);
    assert.equal(await page.getByTestId("connection").textContent(), "live");
  });

  it("reconnects and subscribes again after the daemon restarts", async () => {
    assert.equal(await daemon.stop(), 0);
    await page.locator("[data-testid=connection]:not(:has-text('live'))").waitFor(WAIT);
    await daemon.start();
    await page.locator("[data-testid=connection]", { hasText: "live" }).waitFor({ timeout: 15000 });
    await page.locator("[data-live=subscribed]").waitFor(WAIT);
    await api.post(`/workflows/${slug}/nodes/`, { component_type: "reply_chat", node_id: "after_restart",
      config: { extra_config: { message: "hi" } } });
    await page.locator('[data-node-id="after_restart"]').waitFor(WAIT);
    await artifacts.shot(page, "after-restart");
  });

  it("follows the system's colour scheme and switches to the dark theme", async () => {
    // Playwright's pages prefer light unless told; a page that prefers dark starts dark.
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
    const darkContext = await session.browser.newContext({ colorScheme: "dark" });
    const darkPage = await darkContext.newPage();
    await darkPage.goto(daemon.url + "/");
    await darkPage.getByRole("button", { name: "Log in" }).waitFor(WAIT);
    assert.equal(await darkPage.evaluate(() => document.documentElement.dataset.theme), "dark");
    await artifacts.shot(darkPage, "login-dark");
    await darkContext.close();

    while ((await page.evaluate(() => document.documentElement.dataset.theme)) !== "dark")
      await page.getByTestId("theme-toggle").click();
    assert.equal(await page.getByTestId("theme-toggle").textContent(), "Theme: dark");
    assert.notEqual(await page.locator(".react-flow.dark").count(), 0);
    await artifacts.shot(page, "canvas-dark");
    // The choice is kept: a reload stays dark.
    await page.reload();
    await page.locator("[data-live=subscribed]").waitFor(WAIT);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
  });
});
