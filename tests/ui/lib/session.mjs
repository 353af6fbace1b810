// A test's world: its pipelitd, a browser, a page logged in as the admin, the API with the
// page's key, and the screenshots.

import { Api, ADMIN, Daemon } from "./daemon.mjs";
import { Artifacts, launch } from "./browser.mjs";

export const WAIT = { timeout: 10000 };

export async function logIn(page, baseUrl) {
  await page.goto(baseUrl + "/");
  await page.getByLabel("Username").fill(ADMIN.username);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Workflows" }).waitFor(WAIT);
  return page.evaluate(() => sessionStorage.getItem("pipelit.key"));
}

/** Starts a daemon (config: more [Server] lines) and a browser; logs in when asked. */
export async function openSession({ config = "", login = true, screenshots = "" } = {}) {
  const daemon = new Daemon({ binary: process.env.PIPELITD, uiDir: process.env.PIPELIT_UI_DIST, config });
  daemon.createAdmin();
  await daemon.start();
  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
  const api = new Api(daemon.url);
  if (login) api.key = await logIn(page, daemon.url);
  const base = process.env.PIPELIT_UI_ARTIFACTS ?? "tests/ui-screenshots";
  const artifacts = new Artifacts(screenshots ? `${base}/${screenshots}` : base);
  return {
    daemon, browser, context, page, api, artifacts,
    /** Closes the browser and stops the daemon; its exit code. */
    async close() {
      await browser.close();
      const code = await daemon.stop();
      const log = daemon.log();
      daemon.remove();
      return { code, log };
    },
  };
}
