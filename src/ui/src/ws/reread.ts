// When a followed workflow (its detail and its live run) must be read from the API again,
// because events may have been missed: what was read before the server confirmed the
// channel, a read that was under way when an event came (its answer may predate the event
// and overwrite it), and everything after a reconnect. Unchanged parts of an answer keep
// their objects (TanStack Query's structural sharing), so nothing is drawn again for
// nothing.

import type { QueryClient } from "@tanstack/react-query";
import { keys } from "../api/keys";
import type { WsEvent } from "./manager";

const POLL_MS = 50;
const waiting = new Set<string>();

/** Reads key again once the read under way (if any) has ended. */
function rereadAfterFetch(qc: QueryClient, key: readonly unknown[]) {
  const id = JSON.stringify(key);
  if (waiting.has(id) || !qc.getQueryState(key)) return; // not read yet: it will be
  waiting.add(id);
  const check = () => {
    if (qc.getQueryState(key)?.fetchStatus === "fetching") {
      window.setTimeout(check, POLL_MS);
      return;
    }
    waiting.delete(id);
    qc.invalidateQueries({ queryKey: key, exact: true });
  };
  check();
}

const followed = (slug: string) => [keys.workflow(slug), keys.live(slug)];

export function rereadAfterEvent(qc: QueryClient, event: WsEvent): void {
  const channel = event.channel ?? "";
  if (!channel.startsWith("workflow:")) return;
  const slug = channel.slice("workflow:".length);
  if (event.type === "subscribed") {
    for (const key of followed(slug)) rereadAfterFetch(qc, key);
  } else if (event.type === "unsubscribed") {
    // No longer followed: read again when shown next.
    for (const key of followed(slug)) qc.invalidateQueries({ queryKey: key, exact: true, refetchType: "none" });
  } else {
    for (const key of followed(slug))
      if (qc.getQueryState(key)?.fetchStatus === "fetching") rereadAfterFetch(qc, key);
  }
}

const FOLLOWED = new Set(["workflow", "live"]);

/** After a reconnect everything may have changed. Followed workflows are read again once
 * their channels are confirmed, the rest at once (or when shown next). */
export function afterReconnect(qc: QueryClient): void {
  qc.invalidateQueries({ predicate: (q) => !FOLLOWED.has(String(q.queryKey[0])) });
  qc.invalidateQueries({ predicate: (q) => FOLLOWED.has(String(q.queryKey[0])), refetchType: "none" });
}
