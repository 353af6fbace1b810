// Time to open a 500-node workflow in the browser UI: from the click on its name in the
// dashboard (or from loading its URL) until every node is drawn on the canvas — the API's
// answer read and all 500 nodes rendered — and until the 499 edges between them are too;
// then the frame times while the canvas is dragged across (panning).
//
//   node bench/ui-open-500.mjs [BUILD_DIR]      (default: build)
//
// Starts its own pipelitd (BUILD_DIR/pipelitd serving BUILD_DIR/ui-dist) with a temporary
// database, imports a chain of 500 transform nodes on a 25 × 20 grid, and drives Debian's
// Chromium with src/ui's playwright-core. Environment: RUNS (default 7), NODES (500).

import { resolve } from "node:path";
import { Api, ADMIN, Daemon } from "../tests/ui/lib/daemon.mjs";
import { launch } from "../tests/ui/lib/browser.mjs";
import { chainDocument, timeDrawing } from "../tests/ui/lib/large-workflow.mjs";

const build = resolve(process.argv[2] ?? "build");
const runs = Number(process.env.RUNS ?? 7);
const count = Number(process.env.NODES ?? 500);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const daemon = new Daemon({ binary: `${build}/pipelitd`, uiDir: `${build}/ui-dist` });
daemon.createAdmin();
await daemon.start();
const browser = await launch();
try {
  const api = new Api(daemon.url);
  await api.login();
  const { slug } = await api.post("/workflows/import/", chainDocument(count));

  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  await page.goto(daemon.url + "/");
  await page.getByLabel("Username").fill(ADMIN.username);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Log in" }).click();
  const link = page.getByRole("link", { name: `Big ${count}` });
  await link.waitFor();

  const inApp = [];
  const loaded = [];
  for (let i = 0; i < runs; i++) {
    // In the app: the dashboard's link (a freshly loaded dashboard: nothing cached).
    await page.goto(daemon.url + "/");
    await link.waitFor();
    const started = await page.evaluate(() => performance.now());
    await link.click();
    inApp.push(await timeDrawing(page, count, started));

    // Loading the URL: the page, its script, the API and the canvas, from the navigation's
    // start (performance.now() counts from it), after a blank page so that unloading the
    // last canvas is not counted.
    await page.goto("about:blank");
    await page.goto(`${daemon.url}/workflows/${slug}`, { waitUntil: "commit" });
    loaded.push(await timeDrawing(page, count, 0));
  }
  // Panning: drag the canvas across for about a second and time the frames meanwhile.
  const box = await page.locator(".react-flow__pane").boundingBox();
  await page.evaluate(() => {
    window.__frames = [];
    const tick = (t) => {
      window.__frames.push(t);
      if (window.__frames.length < 2000) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= 60; i++) {
    await page.mouse.move(x - i * 8, y - i * 3);
    await page.waitForTimeout(16);
  }
  await page.mouse.up();
  const frames = await page.evaluate(() => {
    const f = window.__frames;
    return f.slice(1).map((t, i) => t - f[i]);
  });
  const p95 = [...frames].sort((a, b) => a - b)[Math.floor(frames.length * 0.95)];

  const fmt = (xs) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
  console.log(`${count} nodes, ${count - 1} edges, ${runs} runs`);
  console.log(`open from the dashboard, nodes drawn:  ${fmt(inApp.map((t) => t[0]))}`);
  console.log(`open from the dashboard, edges drawn:  ${fmt(inApp.map((t) => t[1]))}`);
  console.log(`load the URL, nodes drawn:             ${fmt(loaded.map((t) => t[0]))}`);
  console.log(`load the URL, edges drawn:             ${fmt(loaded.map((t) => t[1]))}`);
  console.log(`panning: ${frames.length} frames, median ${median(frames).toFixed(1)} ms, 95th percentile ${p95.toFixed(1)} ms`);
} finally {
  await browser.close();
  await daemon.stop();
  daemon.remove();
}
