// The workflow editor against a real pipelitd: a webhook trigger, a switch and two
// branches built by dragging node types from the palette and joining their handles with the
// mouse, a switch rule set up in the panel with the variable picker, runs that turn the
// taken branch green (with its output) and a failing node red (with its error), a second
// window following every edit, an incompatible connection refused with the server's reason,
// the Delete key, and undo; then a model attached to an agent by its handles and a chat
// with it, the reply streamed. Screenshots in PIPELIT_UI_ARTIFACTS/editor.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { card, connect, dropFromPalette, handle, moveCard } from "./lib/canvas.mjs";
import { FAKE_OPENAI_KEY, havePython, startFakeLLM } from "./lib/fake-llm.mjs";
import { openSession, WAIT } from "./lib/session.mjs";

describe("browser UI: workflow editor", () => {
  let session, daemon, page, second, api, artifacts;
  let slug;
  const ids = {};

  const nodes = () => api.get(`/workflows/${slug}/nodes/`);
  const edges = () => api.get(`/workflows/${slug}/edges/`);
  const panel = () => page.getByTestId("node-panel");
  const edgeCount = (p) => p.locator(".react-flow__edge").count();
  const fire = (body) =>
    fetch(`${daemon.url}/api/v1/webhooks/${slug}/editor-hook/`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
  // Opens a node's panel (a click on its label).
  const open = async (nodeId) => {
    await card(page, nodeId).locator(".node-label").click();
    await page.locator(`[data-testid=node-panel][aria-label="Node ${nodeId}"]`).waitFor(WAIT);
  };
  const save = async () => {
    await panel().getByRole("button", { name: "Save" }).click();
    await panel().getByText("Unsaved changes").waitFor({ state: "detached", ...WAIT });
  };
  const waitFor = async (what, check) => {
    const deadline = Date.now() + WAIT.timeout;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    session = await openSession({ screenshots: "editor" });
    ({ daemon, page, api, artifacts } = session);
    slug = (await api.post("/workflows/", { name: "Editor flow" })).slug;
    await page.goto(`${daemon.url}/workflows/${slug}`);
    await page.locator("[data-live=subscribed]").waitFor(WAIT);
    // A second window on the same workflow, with the same session, follows every edit of
    // the first. (Not a tab of the same window: the hidden one would draw once a second.)
    const other = await session.browser.newContext({ viewport: { width: 1280, height: 800 } });
    await other.addInitScript((key) => sessionStorage.setItem("pipelit.key", key), api.key);
    second = await other.newPage();
    await second.goto(`${daemon.url}/workflows/${slug}`);
    await second.locator("[data-live=subscribed]").waitFor(WAIT);
  });

  after(async () => {
    const { code, log } = await session.close();
    assert.equal(code, 0, `pipelitd exited with ${code}:\n${log}`);
  });

  it("adds nodes dragged from the palette where they are dropped", async () => {
    await page.getByTestId("palette").getByRole("heading", { name: "Triggers" }).waitFor(WAIT);
    // The canvas is about 660 pixels wide beside the palette and the node's panel.
    await dropFromPalette(page, "trigger_webhook", 110, 300);
    await dropFromPalette(page, "switch", 340, 300);
    await dropFromPalette(page, "reply_chat", 560, 180);
    await dropFromPalette(page, "reply_chat", 560, 420);
    const list = await waitFor("four nodes", async () => ((await nodes()).length === 4 ? nodes() : null));
    const of = (type) => list.filter((n) => n.component_type === type).sort((a, b) => a.position_y - b.position_y);
    ids.hook = of("trigger_webhook")[0].node_id;
    ids.switch = of("switch")[0].node_id;
    [ids.a, ids.b] = of("reply_chat").map((n) => n.node_id);
    // Saved where dropped: the switch right of the trigger, the branches above each other.
    const at = Object.fromEntries(list.map((n) => [n.node_id, n]));
    assert.ok(at[ids.switch].position_x > at[ids.hook].position_x + 150);
    assert.ok(at[ids.b].position_y > at[ids.a].position_y + 150);
    for (const id of Object.values(ids)) await card(page, id).waitFor(WAIT);
    // The other tab has them too.
    for (const id of Object.values(ids)) await card(second, id).waitFor(WAIT);
    await artifacts.shot(page, "dropped-from-palette");
    await artifacts.shot(second, "second-window");
  });

  it("connects the trigger, the switch's routes and the branches with the mouse", async () => {
    await open(ids.switch);
    await panel().getByRole("button", { name: "Add rule" }).click();
    await panel().getByLabel("Enable fallback").check();
    await save();
    // One handle per rule, and one for everything else.
    await handle(page, ids.switch, "route:rule_1").waitFor(WAIT);
    await handle(page, ids.switch, "route:__other__").waitFor(WAIT);

    await connect(page, handle(page, ids.hook, "out"), handle(page, ids.switch, "in"));
    await connect(page, handle(page, ids.switch, "route:rule_1"), handle(page, ids.a, "in"));
    await connect(page, handle(page, ids.switch, "route:__other__"), handle(page, ids.b, "in"));
    await waitFor("three edges", async () => (await edges()).length === 3);
    const list = await edges();
    const to = (target) => list.find((e) => e.target_node_id === target);
    assert.equal(to(ids.switch).edge_type, "direct");
    assert.deepEqual([to(ids.a).edge_type, to(ids.a).condition_value], ["conditional", "rule_1"]);
    assert.deepEqual([to(ids.b).edge_type, to(ids.b).condition_value], ["conditional", "__other__"]);
    await waitFor("the edges drawn in both tabs", async () => (await edgeCount(page)) === 3 && (await edgeCount(second)) === 3);
    await artifacts.shot(page, "connected");
  });

  it("sets up the switch rule and the branches in the panel, with the variable picker", async () => {
    await open(ids.hook);
    await panel().getByLabel("Path").fill("editor-hook");
    await save();
    await panel().getByTestId("webhook-url").filter({ hasText: `/api/v1/webhooks/${slug}/editor-hook/` }).waitFor(WAIT);

    await open(ids.switch);
    const rule = panel().getByRole("group", { name: "Rule 1" });
    await rule.getByLabel("Label").fill("kind a");
    // The picker writes a path into the rule's field.
    await rule.getByLabel("Field").click();
    await panel().getByTestId("variable-picker").getByRole("button", { name: "trigger.body", exact: true }).click();
    await rule.getByLabel("Field").press("End");
    await rule.getByLabel("Field").pressSequentially(".kind");
    await rule.getByLabel("Operator").selectOption("equals");
    await rule.getByLabel("Value").fill("a");
    await artifacts.shot(page, "switch-rule");
    await save();
    const sw = (await nodes()).find((n) => n.node_id === ids.switch);
    assert.deepEqual(sw.config.extra_config.rules, [
      { id: "rule_1", operator: "equals", label: "kind a", field: "trigger.body.kind", value: "a" },
    ]);
    assert.equal(sw.config.extra_config.enable_fallback, true);
    // The route shows the rule's label.
    await card(page, ids.switch).getByText("kind a").waitFor(WAIT);

    await open(ids.a);
    await panel().getByLabel("Label").fill("Branch A");
    const message = panel().getByLabel("Message");
    await message.fill("Branch A got ");
    await message.press("End");
    // Templates get {{ … }}: the trigger's body, upstream of the branch.
    await panel().getByTestId("variable-picker").getByRole("button", { name: "{{ trigger.body }}" }).click();
    assert.equal(await message.inputValue(), "Branch A got {{ trigger.body }}");
    await message.press("End");
    await message.pressSequentially(" for kind {{ trigger.body.kind }}");
    await save();

    await open(ids.b);
    await panel().getByLabel("Label").fill("Branch B");
    await panel().getByLabel("Message").fill("Branch B");
    await save();
    await card(second, ids.b).getByText("Branch B").waitFor(WAIT);
    await artifacts.shot(page, "configured");
  });

  it("runs the workflow: the taken branch turns green with its output", async () => {
    const r = await fire({ kind: "a" });
    assert.equal(r.status, 202, await r.text());
    await card(page, ids.switch).locator('[data-status="success"]').first().waitFor(WAIT);
    await page.locator(`[data-node-id="${ids.a}"][data-status="success"]`).waitFor(WAIT);
    await second.locator(`[data-node-id="${ids.a}"][data-status="success"]`).waitFor(WAIT);
    assert.notEqual(await card(page, ids.b).getAttribute("data-status"), "success");
    await open(ids.a);
    await panel().locator(".json", { hasText: "Branch A got" }).waitFor(WAIT);
    assert.match(await panel().locator(".json").first().textContent(), /for kind a/);
    await artifacts.shot(page, "run-branch-a");
  });

  it("shows a failing node red with its error, and undoes the change that broke it", async () => {
    await open(ids.b);
    await panel().getByLabel("Message").fill("{{ nowhere.output }}");
    await save();
    const r = await fire({ kind: "b" });
    assert.equal(r.status, 202, await r.text());
    const failed = page.locator(`[data-node-id="${ids.b}"][data-status="failed"]`);
    await failed.waitFor(WAIT);
    assert.match(await failed.getByTestId("node-error").textContent(), /nowhere/);
    await panel().getByRole("alert").filter({ hasText: "nowhere" }).waitFor(WAIT);
    await artifacts.shot(page, "run-branch-b-failed");

    // Ctrl+Z on the canvas (not in a field, where it undoes typing).
    await page.locator(".react-flow__pane").click({ position: { x: 20, y: 400 } });
    await page.keyboard.press("Control+z");
    await waitFor("the message back", async () =>
      (await nodes()).find((n) => n.node_id === ids.b).config.extra_config.message === "Branch B");
  });

  it("refuses an incompatible connection with the server's reason", async () => {
    await dropFromPalette(page, "filter", 340, 540);
    const filter = await waitFor("the filter node", async () => (await nodes()).find((n) => n.component_type === "filter"));
    ids.filter = filter.node_id;
    await card(page, ids.filter).waitFor(WAIT);
    // A reply's text cannot feed a filter, which takes a list.
    await connect(page, handle(page, ids.a, "out"), handle(page, ids.filter, "in"));
    const error = page.getByTestId("edit-error");
    await error.waitFor(WAIT);
    assert.match(await error.textContent(), /reply_chat output 'output' \(string\) cannot feed filter input 'input' \(array\)/);
    assert.equal((await edges()).length, 3);
    await artifacts.shot(page, "connection-refused");
  });

  it("deletes the selected node and edge with the Delete key", async () => {
    await card(page, ids.filter).locator(".node-label").click();
    await page.keyboard.press("Delete");
    await card(page, ids.filter).waitFor({ state: "detached", ...WAIT });
    await card(second, ids.filter).waitFor({ state: "detached", ...WAIT });
    assert.equal((await nodes()).some((n) => n.node_id === ids.filter), false);

    const edge = (await edges()).find((e) => e.target_node_id === ids.b);
    await page.locator(`.react-flow__edge[data-id="${edge.id}"]`).click();
    await page.keyboard.press("Delete");
    await waitFor("the edge gone", async () => !(await edges()).some((e) => e.id === edge.id));
    await waitFor("the edge gone from the other tab", async () => (await edgeCount(second)) === 2);
    await artifacts.shot(page, "deleted");
  });

  it("undoes the last edits: the deletions, the addition, then a move", async () => {
    // (The button names the edit once the page has the server's answer.)
    await page.getByTestId("undo").filter({ hasText: "Undo delete 1 edge" }).click();
    await waitFor("the edge back", async () =>
      (await edges()).some((e) => e.target_node_id === ids.b && e.condition_value === "__other__"));
    await page.getByTestId("undo").click();
    await card(page, ids.filter).waitFor(WAIT);
    await card(second, ids.filter).waitFor(WAIT);
    // Before the deletion, the filter was added: undone, it goes.
    assert.equal(await page.getByTestId("undo").textContent(), "↶ Undo add node");
    await page.getByTestId("undo").click();
    await card(page, ids.filter).waitFor({ state: "detached", ...WAIT });
    await card(second, ids.filter).waitFor({ state: "detached", ...WAIT });

    const before = (await nodes()).find((n) => n.node_id === ids.b);
    await moveCard(page, ids.b, 0, 120);
    const moved = await waitFor("the move saved", async () => {
      const n = (await nodes()).find((x) => x.node_id === ids.b);
      return n.position_y > before.position_y + 60 ? n : null;
    });
    assert.equal(moved.position_x, before.position_x);
    await artifacts.shot(page, "moved");
    await page.getByTestId("undo").filter({ hasText: "Undo move" }).waitFor(WAIT);
    await page.keyboard.press("Control+z");
    await waitFor("the move undone", async () => (await nodes()).find((n) => n.node_id === ids.b).position_y === before.position_y);
    await artifacts.shot(page, "move-undone");
  });

  it("attaches a model to an agent and chats with it, the reply streamed", { skip: !havePython() && "no python3 for the fake LLM" }, async () => {
    const fake = await startFakeLLM();
    try {
      const answer = "Hello from the fake model, streamed in pieces.";
      await fake.script("chat-model", { text: answer, chunks: 6, chunk_delay: 0.15 });
      const credential = await api.post("/credentials/", {
        name: "Fake", credential_type: "llm", detail: { provider_type: "openai", api_key: FAKE_OPENAI_KEY, base_url: fake.baseUrl },
      });
      const chatSlug = (await api.post("/workflows/import/", {
        format: "pipelit-workflow", version: 1, workflow: { name: "Chat flow" },
        nodes: [
          { node_id: "chat", component_type: "trigger_chat", position_x: 40, position_y: 40 },
          { node_id: "agent", component_type: "agent", position_x: 300, position_y: 40 },
          { node_id: "model", component_type: "ai_model", position_x: 300, position_y: 240,
            config: { llm_credential_id: credential.id, model_name: "chat-model" } },
        ],
        edges: [{ source_node_id: "chat", target_node_id: "agent" }],
      })).slug;
      await page.goto(`${daemon.url}/workflows/${chatSlug}`);
      await page.locator("[data-live=subscribed]").waitFor(WAIT);
      // The model's plug into the agent's model slot: an llm edge.
      await connect(page, handle(page, "model", "attach"), handle(page, "agent", "model"));
      const llmEdge = async () =>
        (await api.get(`/workflows/${chatSlug}/edges/`)).some((e) => e.edge_label === "llm" && e.target_node_id === "agent");
      await waitFor("the llm edge", llmEdge);
      // A connection undone, and made again.
      await page.getByTestId("undo").filter({ hasText: "Undo connect" }).waitFor(WAIT);
      await page.keyboard.press("Control+z");
      await waitFor("the llm edge undone", async () => !(await llmEdge()));
      await connect(page, handle(page, "model", "attach"), handle(page, "agent", "model"));
      await waitFor("the llm edge again", llmEdge);

      await page.getByRole("button", { name: "Chat" }).click();
      const chat = page.getByTestId("chat-panel");
      await chat.getByLabel("Message").fill("Say hello");
      await chat.getByLabel("Message").press("Enter");
      // Part of the answer shows while the model still writes.
      const streaming = chat.locator(".chat-streaming");
      await streaming.waitFor(WAIT);
      const partial = await streaming.textContent();
      assert.ok(partial.length > 0 && answer.startsWith(partial) && partial !== answer, `partial reply: ${partial}`);
      await artifacts.shot(page, "chat-streaming");
      await chat.getByTestId("chat-reply").filter({ hasText: answer }).waitFor(WAIT);
      await page.locator('[data-node-id="agent"][data-status="success"]').waitFor(WAIT);
      assert.equal(await chat.locator(".chat-streaming").count(), 0);
      await artifacts.shot(page, "chat-answered");
    } finally {
      fake.stop();
    }
  });
});
