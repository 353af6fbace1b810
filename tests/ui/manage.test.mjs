// The browser UI's management pages against a real pipelitd: activating, exporting,
// importing and deleting workflows from the dashboard; answering a run's confirmation and
// cancelling a run from its page. Screenshots in PIPELIT_UI_ARTIFACTS/manage.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { openSession, WAIT } from "./lib/session.mjs";

// A manual trigger asking for a confirmation, then replying on either branch.
const CONFIRM_FLOW = {
  format: "pipelit-workflow",
  version: 1,
  workflow: { name: "Deploy with a yes", is_active: true },
  nodes: [
    { node_id: "start", component_type: "trigger_manual" },
    { node_id: "ask", component_type: "human_confirmation", config: { extra_config: { prompt: "Deploy now?" } } },
    { node_id: "went", component_type: "reply_chat", config: { extra_config: { message: "deployed: {{ ask.user_response }}" } } },
    { node_id: "stopped", component_type: "reply_chat", config: { extra_config: { message: "stopped" } } },
  ],
  edges: [
    { source_node_id: "start", target_node_id: "ask" },
    { source_node_id: "ask", target_node_id: "went", edge_type: "conditional", condition_value: "confirmed" },
    { source_node_id: "ask", target_node_id: "stopped", edge_type: "conditional", condition_value: "cancelled" },
  ],
};

const WAIT_FLOW = {
  format: "pipelit-workflow",
  version: 1,
  workflow: { name: "Slow one", is_active: true },
  nodes: [
    { node_id: "start", component_type: "trigger_manual" },
    { node_id: "pause", component_type: "wait", config: { extra_config: { duration: 60 } } },
    { node_id: "after", component_type: "reply_chat", config: { extra_config: { message: "late" } } },
  ],
  edges: [
    { source_node_id: "start", target_node_id: "pause" },
    { source_node_id: "pause", target_node_id: "after" },
  ],
};

describe("browser UI: workflows and executions", () => {
  let session, daemon, page, api, artifacts;
  let confirmSlug, importedSlug;

  before(async () => {
    session = await openSession({ screenshots: "manage" });
    ({ daemon, page, api, artifacts } = session);
    confirmSlug = (await api.post("/workflows/import/", CONFIRM_FLOW)).slug;
    await page.reload();
  });

  after(async () => {
    const { code, log } = await session.close();
    assert.equal(code, 0, `pipelitd exited with ${code}:\n${log}`);
  });

  const row = (slug) => page.locator(`tr[data-slug="${slug}"]`);

  it("deactivates and activates a workflow from the dashboard", async () => {
    const active = row(confirmSlug).getByRole("checkbox");
    await active.waitFor(WAIT);
    assert.equal(await active.isChecked(), true);
    await active.click();
    await row(confirmSlug).getByText("inactive").waitFor(WAIT);
    assert.equal((await api.get(`/workflows/${confirmSlug}/`)).is_active, false);
    await artifacts.shot(page, "deactivated");
    await active.click();
    await row(confirmSlug).getByText("active", { exact: true }).waitFor(WAIT);
    assert.equal((await api.get(`/workflows/${confirmSlug}/`)).is_active, true);
  });

  it("exports a workflow as JSON", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download", WAIT),
      row(confirmSlug).getByRole("button", { name: "Export" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `${confirmSlug}.json`);
    const document = JSON.parse(await readFile(await download.path(), "utf8"));
    assert.equal(document.format, "pipelit-workflow");
    assert.deepEqual(document.nodes.map((n) => n.node_id).sort(), ["ask", "start", "stopped", "went"]);
    assert.equal(document.edges.length, 3);
  });

  it("imports a workflow from JSON and opens it", async () => {
    const document = { ...CONFIRM_FLOW, workflow: { ...CONFIRM_FLOW.workflow, name: "Imported copy" } };
    await page.getByTestId("import-file").setInputFiles({
      name: "copy.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(document)),
    });
    await page.waitForURL(/\/workflows\/[^/]+$/, WAIT);
    importedSlug = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
    await page.getByTestId("workflow-name").filter({ hasText: "Imported copy" }).waitFor(WAIT);
    for (const id of ["start", "ask", "went", "stopped"]) await page.locator(`[data-node-id="${id}"]`).waitFor(WAIT);
    await page.locator("[data-live=subscribed]").waitFor(WAIT);
    await artifacts.shot(page, "imported");
    // Not JSON: said so, nothing imported.
    await page.getByRole("link", { name: "Workflows" }).click();
    const before = (await api.get("/workflows/")).total;
    await page.getByTestId("import-file").setInputFiles({
      name: "broken.json", mimeType: "application/json", buffer: Buffer.from("{not json"),
    });
    await page.getByRole("alert").filter({ hasText: "broken.json is not JSON." }).waitFor(WAIT);
    assert.equal((await api.get("/workflows/")).total, before);
  });

  it("answers a confirmation from the run's page", async () => {
    await page.goto(`${daemon.url}/workflows/${importedSlug}`);
    await page.locator("[data-live=subscribed]").waitFor(WAIT);
    await page.getByRole("button", { name: "Run" }).click();
    await page.locator('[data-node-id="ask"][data-status="waiting"]').waitFor(WAIT);
    await artifacts.shot(page, "waiting-for-an-answer");
    await page.getByRole("link", { name: "Last run" }).click();
    const confirmation = page.getByTestId("confirmation");
    await confirmation.getByText("Deploy now?").waitFor(WAIT);
    await artifacts.shot(page, "confirmation");
    await confirmation.getByLabel("Answer").fill("yes please");
    await confirmation.getByRole("button", { name: "Send" }).click();
    // "yes please" is not a yes: the cancelled branch runs.
    await page.locator('[data-testid=execution][data-status="completed"]').waitFor(WAIT);
    await page.getByTestId("log-table").locator('tr[data-node-id="stopped"]').waitFor(WAIT);
    assert.equal(await page.getByTestId("confirmation").count(), 0);
    // And once more with Yes.
    await page.goBack();
    await page.locator("[data-live=subscribed]").waitFor(WAIT);
    await page.getByRole("button", { name: "Run" }).click();
    await page.locator('[data-node-id="ask"][data-status="waiting"]').waitFor(WAIT);
    await page.getByRole("link", { name: "Last run" }).click();
    await page.getByTestId("confirmation").getByRole("button", { name: "Yes" }).click();
    await page.locator('[data-testid=execution][data-status="completed"]').waitFor(WAIT);
    await page.getByText('"deployed: yes"').first().waitFor(WAIT);
    await artifacts.shot(page, "confirmed");
  });

  it("cancels a run from its page", async () => {
    const { slug } = await api.post("/workflows/import/", WAIT_FLOW);
    const { execution_id: id } = await api.post(`/workflows/${slug}/execute/`, {}, 202);
    await page.goto(`${daemon.url}/executions/${id}`);
    await page.locator('[data-testid=execution][data-status="running"]').waitFor(WAIT);
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.locator('[data-testid=execution][data-status="cancelled"]').waitFor(WAIT);
    assert.equal((await api.get(`/executions/${id}/status/`)).status, "cancelled");
    assert.equal(await page.getByRole("button", { name: "Cancel" }).count(), 0);
    await artifacts.shot(page, "cancelled");
  });

  it("deletes a workflow", async () => {
    await page.goto(`${daemon.url}/`);
    await row(importedSlug).getByRole("button", { name: "Delete" }).click();
    await row(importedSlug).getByRole("button", { name: "Delete for good" }).click();
    await row(importedSlug).waitFor({ state: "detached", ...WAIT });
    await api.request("GET", `/workflows/${importedSlug}/`, undefined, 404);
    await artifacts.shot(page, "deleted");
  });
});
