// A pipelitd of the test's own: a temporary state folder and SQLite database, a free
// port on 127.0.0.1, the UI from the build tree, an admin made with --create-admin.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ADMIN = { username: "admin", password: "admin-password-1" };

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Daemon {
  constructor({ binary, uiDir, config = "" }) {
    this.binary = binary;
    this.base = mkdtempSync(join(tmpdir(), "pipelit-ui-"));
    this.stateDir = join(this.base, "state");
    this.logPath = join(this.base, "pipelitd.log");
    this.configPath = join(this.base, "pipelitd.conf");
    writeFileSync(this.configPath, `[Server]\nStaticDirectory=${uiDir}\n${config}`);
    spawnSync("mkdir", ["-p", this.stateDir]);
    this.process = null;
    this.port = 0;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  args(...extra) {
    return ["--state-dir", this.stateDir, "--database", `sqlite://${join(this.stateDir, "pipelit.db")}`,
      "--config", this.configPath, ...extra];
  }

  env() {
    // Ours without PIPELIT_* settings or systemd hand-overs.
    const env = {};
    for (const [k, v] of Object.entries(process.env))
      if (!k.startsWith("PIPELIT_") && !["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"].includes(k))
        env[k] = v;
    return env;
  }

  createAdmin() {
    const p = spawnSync(this.binary, this.args("--create-admin", ADMIN.username), {
      input: `${ADMIN.password}\n`, env: this.env(), timeout: 30000,
    });
    if (p.status !== 0) throw new Error(`pipelitd --create-admin failed: ${p.stdout}${p.stderr}`);
  }

  /** Starts it (on the same port when started before) and waits for /health. */
  async start() {
    if (!this.port) this.port = await freePort();
    const log = openSync(this.logPath, "a");
    this.process = spawn(this.binary, this.args("--listen", `127.0.0.1:${this.port}`), {
      env: this.env(), stdio: ["ignore", log, log],
    });
    closeSync(log);
    const exited = new Promise((resolve) => this.process.once("exit", (code) => resolve(code)));
    this.exited = exited;
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      const code = await Promise.race([exited, sleep(50).then(() => undefined)]);
      if (code !== undefined) throw new Error(`pipelitd exited with ${code}:\n${this.log()}`);
      try {
        const r = await fetch(`${this.url}/health`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
    }
    throw new Error(`pipelitd did not answer /health:\n${this.log()}`);
  }

  /** SIGTERM, and the exit code within 10 s. */
  async stop() {
    if (!this.process || this.process.exitCode !== null) return this.process?.exitCode;
    this.process.kill("SIGTERM");
    let timer;
    const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), 10000)));
    const code = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (code === "timeout") {
      this.process.kill("SIGKILL");
      throw new Error("pipelitd did not stop within 10 s");
    }
    return code;
  }

  log() {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  remove() {
    if (!process.env.PIPELIT_TEST_KEEP) rmSync(this.base, { recursive: true, force: true });
  }
}

/** The REST API as a key's holder. */
export class Api {
  constructor(baseUrl, key = null) {
    this.baseUrl = baseUrl;
    this.key = key;
  }

  async login(username = ADMIN.username, password = ADMIN.password) {
    const { key } = await this.request("POST", "/auth/token/", { username, password }, 200);
    this.key = key;
    return key;
  }

  /** The answer's JSON; throws unless the status is `expect`. */
  async request(method, path, body, expect) {
    const headers = { Accept: "application/json" };
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (expect !== undefined && r.status !== expect)
      throw new Error(`${method} ${path}: expected ${expect}, got ${r.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  post(path, body, expect = 201) {
    return this.request("POST", path, body, expect);
  }

  get(path) {
    return this.request("GET", path, undefined, 200);
  }
}
