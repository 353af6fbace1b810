// Chatting with a workflow that has a chat trigger: the messages sent and the replies as
// they are written (streamed by the agents), or the run's final output, or its error.

import { useEffect, useRef, useState, type FormEvent } from "react";
import { ErrorNote } from "../components/ErrorNote";
import { outputText, type Reply } from "./replies";
import type { Chat } from "./useChat";

function ReplyView({ reply }: { reply: Reply | undefined }) {
  if (!reply || (reply.messages.length === 0 && (reply.status === "pending" || reply.status === "running")))
    return <div className="chat-msg chat-assistant chat-waiting" data-testid="chat-reply">…</div>;
  const shown = reply.messages.filter((m) => m.text);
  return (
    <>
      {shown.map((m, i) => (
        <div key={i} className={`chat-msg chat-assistant${m.done ? "" : " chat-streaming"}`} data-testid="chat-reply"
          title={m.nodeId}>
          {m.text}
        </div>
      ))}
      {shown.length === 0 && reply.status === "completed" && (
        <div className="chat-msg chat-assistant" data-testid="chat-reply">
          {outputText(reply.output) || <span className="muted">(no reply)</span>}
        </div>
      )}
      {reply.status === "failed" && (
        <div className="chat-msg chat-error" role="alert">
          {reply.error}
        </div>
      )}
      {reply.status === "cancelled" && <div className="chat-msg chat-error">Cancelled.</div>}
    </>
  );
}

export function ChatPanel({ chat, onClose }: { chat: Chat; onClose: () => void }) {
  const { turns, replies, send, sending, error } = chat;
  const [text, setText] = useState("");
  const end = useRef<HTMLDivElement>(null);
  // (scrollIntoView answers a promise in newer browsers: no cleanup to hand back.)
  useEffect(() => {
    end.current?.scrollIntoView({ block: "end" });
  }, [turns, replies]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    if (await send(text)) setText("");
  };

  return (
    <aside className="side-panel chat-panel" aria-label="Chat" data-testid="chat-panel">
      <div className="panel-head">
        <h2>Chat</h2>
        <button type="button" className="ghost" onClick={onClose} aria-label="Close chat">
          ✕
        </button>
      </div>
      <div className="chat-log">
        {turns.length === 0 && <p className="muted">Messages go to the workflow's chat trigger.</p>}
        {turns.map((t) => (
          <div key={t.executionId} className="chat-turn">
            <div className="chat-msg chat-user">{t.text}</div>
            <ReplyView reply={replies.get(t.executionId)} />
          </div>
        ))}
        <div ref={end} />
      </div>
      <form className="chat-form" onSubmit={submit}>
        <textarea aria-label="Message" rows={2} value={text} placeholder="Message"
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) void submit(e);
          }} />
        <button type="submit" className="primary" disabled={sending || !text.trim()}>
          Send
        </button>
      </form>
      <ErrorNote error={error} />
    </aside>
  );
}
