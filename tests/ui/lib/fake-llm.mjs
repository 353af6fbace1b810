// The fake LLM provider of the tests (tests/fake-llm/fake_llm.py) as a process of the test:
// OpenAI's API on a free port, replies scripted per model name. Needs python3.

import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";

export const FAKE_OPENAI_KEY = "sk-fake-openai";

export function havePython() {
  return spawnSync(process.env.PYTHON3 ?? "python3", ["--version"]).status === 0;
}

export async function startFakeLLM() {
  const srcdir = process.env.PIPELIT_SRCDIR ?? new URL("../../..", import.meta.url).pathname;
  // --watch-stdin: it exits with the test, however the test ends.
  const child = spawn(process.env.PYTHON3 ?? "python3", [join(srcdir, "tests/fake-llm/fake_llm.py"), "--watch-stdin"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`fake_llm.py exited with ${code}`)));
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(Number(out.split("\n")[0]));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    baseUrl: `${url}/v1`,
    /** Queues replies ({text, chunks, chunk_delay, …}) for requests naming model. */
    async script(model, ...replies) {
      const r = await fetch(`${url}/_script`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ scenario: model, replies }),
      });
      if (!r.ok) throw new Error(`scripting the fake LLM: ${r.status}`);
    },
    stop() {
      child.stdin.end();
    },
  };
}
