// React's view of the WebSocket manager.

import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, useSyncExternalStore } from "react";
import { get } from "../api/client";
import { onSessionChange, sessionKey } from "../auth/session";
import { applyEvent } from "./apply";
import { afterReconnect } from "./reread";
import { wsManager, type ConnectionState } from "./manager";

/** Connects the page's socket for the session's key and feeds its events to the cache. */
export function useLiveUpdates(): void {
  const qc = useQueryClient();
  useEffect(() => {
    const offEvent = wsManager.onEvent((e) => applyEvent(qc, e));
    // Whatever happened while the socket was down was missed.
    wsManager.onReconnect = () => afterReconnect(qc);
    // Refused key (or a late pong): asking the API ends the session when the key is bad.
    wsManager.onPolicyClose = () => void get("/auth/me/").catch(() => {});
    const follow = () => wsManager.setKey(sessionKey());
    follow();
    const offSession = onSessionChange(follow);
    return () => {
      offEvent();
      offSession();
      wsManager.setKey(null);
    };
  }, [qc]);
}

/** Subscribes to channel while mounted; true once the server confirmed it. */
export function useChannel(channel: string | null): boolean {
  const [subscribed, setSubscribed] = useState(false);
  useEffect(() => {
    if (!channel) return;
    setSubscribed(wsManager.isSubscribed(channel));
    const off = wsManager.onEvent((e) => {
      if (e.channel !== channel) return;
      if (e.type === "subscribed") setSubscribed(true);
      else if (e.type === "unsubscribed") setSubscribed(false);
    });
    const offState = wsManager.onStateChange(() => {
      if (wsManager.connectionState() !== "open") setSubscribed(false);
    });
    const unsubscribe = wsManager.subscribe(channel);
    return () => {
      off();
      offState();
      unsubscribe();
      setSubscribed(false);
    };
  }, [channel]);
  return subscribed;
}

export function useConnectionState(): ConnectionState {
  return useSyncExternalStore(
    (l) => wsManager.onStateChange(l),
    () => wsManager.connectionState(),
  );
}
