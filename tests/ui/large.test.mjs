// A workflow of 500 nodes in the browser UI: it opens from the dashboard with every node
// and edge drawn, the time that took is recorded (PIPELIT_UI_ARTIFACTS/large/timings.json;
// bench/ui-open-500.mjs measures it properly), and the canvas still answers: a node in the middle
// of the chain opens its panel, and panning moves the canvas.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { card } from "./lib/canvas.mjs";
import { chainDocument, timeDrawing } from "./lib/large-workflow.mjs";
import { openSession, WAIT } from "./lib/session.mjs";

const COUNT = 500;

describe("browser UI: a 500-node workflow", () => {
  let session, daemon, page, api, artifacts, slug;

  before(async () => {
    session = await openSession({ screenshots: "large" });
    ({ daemon, page, api, artifacts } = session);
    ({ slug } = await api.post("/workflows/import/", chainDocument(COUNT)));
  });

  after(async () => {
    const { code, log } = await session.close();
    assert.equal(code, 0, `pipelitd exited with ${code}:\n${log}`);
  });

  it("opens with all its nodes and edges drawn", async () => {
    await page.goto(daemon.url + "/");
    const link = page.getByRole("link", { name: `Big ${COUNT}` });
    await link.waitFor(WAIT);
    const started = await page.evaluate(() => performance.now());
    await link.click();
    const [nodes, edges] = await timeDrawing(page, COUNT, started);
    writeFileSync(join(artifacts.dir, "timings.json"),
      JSON.stringify({ nodes: COUNT, all_nodes_drawn_ms: Math.round(nodes), all_edges_drawn_ms: Math.round(edges) }) + "\n");
    console.log(`${COUNT} nodes drawn ${nodes.toFixed(0)} ms after the click, their edges ${edges.toFixed(0)} ms`);
    assert.equal(new URL(page.url()).pathname, `/workflows/${slug}`);
    assert.equal(await page.locator(".react-flow__node").count(), COUNT);
    await artifacts.shot(page, "opened");
  });

  it("opens the panel of a node in the middle of the chain, and pans", async () => {
    await card(page, "step_262").locator(".node-label").click();
    await page.locator('[data-testid=node-panel][aria-label="Node step_262"]').waitFor(WAIT);
    await artifacts.shot(page, "node-panel");

    const viewport = page.locator(".react-flow__viewport");
    const before = await viewport.getAttribute("style");
    const box = await page.locator(".react-flow__pane").boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 - 200, box.y + box.height / 2 - 120, { steps: 10 });
    await page.mouse.up();
    assert.notEqual(await viewport.getAttribute("style"), before, "the canvas did not move");
    await artifacts.shot(page, "panned");
  });
});
