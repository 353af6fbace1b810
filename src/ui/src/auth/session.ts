// The API key of the session. It lives in sessionStorage (a reload keeps it; closing the
// last tab forgets it), and the tabs of one browser share it over a BroadcastChannel: a
// new tab asks the open ones for their key instead of logging in again (which would make
// another key), a login hands the new key to every tab, a logout ends them all.

const STORAGE_KEY = "pipelit.key";
const CHANNEL = "pipelit.session";
// How long a new tab waits for an open one to answer.
const PEER_ANSWER_MS = 150;

type SessionMessage = { type: "ask" } | { type: "key"; key: string } | { type: "logout" };

const listeners = new Set<() => void>();
const channel: BroadcastChannel | null = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel(CHANNEL);

function store(key: string | null): void {
  try {
    if (key) sessionStorage.setItem(STORAGE_KEY, key);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage refused: the key lives as long as the page.
  }
  memoryKey = key;
  listeners.forEach((l) => l());
}

let memoryKey: string | null = null;

export function sessionKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? memoryKey;
  } catch {
    return memoryKey;
  }
}

/** Sets (after a login) or ends (null) the session in every tab. */
export function setSessionKey(key: string | null): void {
  store(key);
  channel?.postMessage(key ? { type: "key", key } : { type: "logout" });
}

export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

channel?.addEventListener("message", (e: MessageEvent<SessionMessage>) => {
  const m = e.data;
  if (m.type === "ask") {
    const key = sessionKey();
    if (key) channel.postMessage({ type: "key", key });
  } else if (m.type === "key") {
    if (m.key !== sessionKey()) store(m.key);
  } else if (m.type === "logout") {
    if (sessionKey()) store(null);
  }
});

/** Resolves once the tab knows whether it has a session: its own, or an open tab's. */
export function restoreSession(): Promise<void> {
  if (sessionKey() || !channel) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      window.clearTimeout(timer);
      off();
      resolve();
    };
    const off = onSessionChange(done);
    const timer = window.setTimeout(done, PEER_ANSWER_MS);
    channel.postMessage({ type: "ask" });
  });
}
