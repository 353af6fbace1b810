// Debian's Chromium driven by npm playwright-core (src/ui's packages), with a screenshot
// of each step kept as a test artifact.

import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const srcdir = process.env.PIPELIT_SRCDIR ?? new URL("../../..", import.meta.url).pathname;
const require = createRequire(join(srcdir, "src/ui/package.json"));
const { chromium } = require("playwright-core");

export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

export class Artifacts {
  constructor(dir) {
    this.dir = dir;
    this.count = 0;
    mkdirSync(dir, { recursive: true });
  }

  /** Saves page's screenshot as NN-name.png; returns its path. */
  async shot(page, name) {
    this.count += 1;
    const path = join(this.dir, `${String(this.count).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path });
    return path;
  }
}
