// The replies of chat runs, put together from the events of the workflow's channel: an
// agent's answer grows with its chat_delta events ({node_id, text, seq}) and is settled by
// chat_message ({node_id, text}) at the end of each model call; the run's end brings its
// final output (e.g. a reply_chat's message) or its error.

import type { WsEvent } from "../ws/manager";

export interface ReplyMessage {
  nodeId: string;
  text: string;
  /** Settled by chat_message; deltas after it start the next message. */
  done: boolean;
  seq: number;
}

export interface Reply {
  status: "pending" | "running" | "completed" | "failed" | "cancelled";
  messages: ReplyMessage[];
  output?: unknown;
  error?: string;
}

export type Replies = ReadonlyMap<string, Reply>;

// Runs remembered at most (a chat panel open for long).
const KEEP = 100;

const EMPTY: Reply = { status: "pending", messages: [] };

function withMessage(reply: Reply, nodeId: string, update: (open: ReplyMessage | undefined) => ReplyMessage | null): Reply {
  let i = reply.messages.length - 1;
  while (i >= 0 && (reply.messages[i].nodeId !== nodeId || reply.messages[i].done)) i--;
  const open = i >= 0 ? reply.messages[i] : undefined;
  const next = update(open);
  if (!next) return reply;
  const messages = open ? reply.messages.map((m, j) => (j === i ? next : m)) : [...reply.messages, next];
  return { ...reply, status: reply.status === "pending" ? "running" : reply.status, messages };
}

function applyToReply(reply: Reply, event: WsEvent): Reply | null {
  const data = event.data ?? {};
  const nodeId = typeof data.node_id === "string" ? data.node_id : "";
  const text = typeof data.text === "string" ? data.text : "";
  switch (event.type) {
    case "execution_started":
      return reply.status === "pending" ? { ...reply, status: "running" } : reply;
    case "chat_delta": {
      // A piece seen already (seq not after the last one) is dropped.
      const seq = typeof data.seq === "number" ? data.seq : null;
      return withMessage(reply, nodeId, (open) =>
        open && seq !== null && seq <= open.seq
          ? null
          : { nodeId, text: (open?.text ?? "") + text, done: false, seq: seq ?? (open?.seq ?? -1) },
      );
    }
    case "chat_message": {
      const last = [...reply.messages].reverse().find((m) => m.nodeId === nodeId);
      // The same text again from the same node is the same message.
      if (last?.done && last.text === text) return reply;
      return withMessage(reply, nodeId, (open) => ({ nodeId, text, done: true, seq: open?.seq ?? -1 }));
    }
    case "execution_completed":
      return { ...reply, status: "completed", output: data.output };
    case "execution_failed":
      return { ...reply, status: "failed", error: typeof data.error === "string" ? data.error : "The run failed." };
    case "execution_cancelled":
      return { ...reply, status: "cancelled" };
  }
  return null;
}

/** replies after event (the same map when the event is about no reply). */
export function applyChatEvent(replies: Replies, event: WsEvent): Replies {
  const id = event.execution_id;
  if (!id) return replies;
  const next = applyToReply(replies.get(id) ?? EMPTY, event);
  if (!next || next === replies.get(id)) return replies;
  const map = new Map(replies);
  map.set(id, next);
  while (map.size > KEEP) map.delete(map.keys().next().value!);
  return map;
}

/** What the run's final output says, for a reply without messages. */
export function outputText(output: unknown): string {
  if (output && typeof output === "object" && "output" in output) {
    const o = (output as { output: unknown }).output;
    if (typeof o === "string") return o;
  }
  if (output === undefined || output === null) return "";
  return typeof output === "string" ? output : JSON.stringify(output, null, 2);
}
