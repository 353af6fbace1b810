// A chat with a workflow through its chat trigger: messages go to POST
// /workflows/{slug}/chat/, each starting a run whose reply comes as events on the
// workflow's channel (which the workflow page follows).

import { useCallback, useEffect, useState } from "react";
import { post } from "../api/client";
import { wsManager } from "../ws/manager";
import { applyChatEvent, type Replies } from "./replies";

export interface Turn {
  executionId: string;
  text: string;
}

export interface Chat {
  turns: Turn[];
  replies: Replies;
  send(text: string): Promise<boolean>;
  sending: boolean;
  error: unknown;
}

/** The page's chat: kept while the page is open, whether the panel shows or not. */
export function useChat(slug: string): Chat {
  const [turns, setTurns] = useState<Turn[]>([]);
  const [replies, setReplies] = useState<Replies>(() => new Map());
  const [error, setError] = useState<unknown>(null);
  const [sending, setSending] = useState(false);

  // Every run's events are kept from the start, since a reply may come before the answer
  // that names its run.
  useEffect(
    () =>
      wsManager.onEvent((e) => {
        if (e.channel === `workflow:${slug}`) setReplies((r) => applyChatEvent(r, e));
      }),
    [slug],
  );

  const send = useCallback(
    async (text: string) => {
      setSending(true);
      setError(null);
      try {
        const answer = await post<{ execution_id: string }>(`/workflows/${encodeURIComponent(slug)}/chat/`, { text });
        setTurns((t) => [...t, { executionId: answer.execution_id, text }]);
        return true;
      } catch (e) {
        setError(e);
        return false;
      } finally {
        setSending(false);
      }
    },
    [slug],
  );

  return { turns, replies, send, sending, error };
}
