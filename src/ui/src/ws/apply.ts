// WebSocket events into the query cache: editor changes are applied in place (no
// refetch), execution events update the canvas's live run and mark execution queries
// stale. When a workflow must be read again instead is reread.ts's concern.

import type { QueryClient } from "@tanstack/react-query";
import { applyWorkflow, removeEdge, removeNode, removeWorkflow, upsertEdge, upsertNode } from "../api/cache";
import { keys } from "../api/keys";
import { liveExecutionStatus, liveNodeStatus, liveStarted } from "../api/live";
import type { Workflow, WorkflowEdge, WorkflowNode } from "../api/types";
import type { WsEvent } from "./manager";
import { rereadAfterEvent } from "./reread";

const EXECUTION_END: Record<string, string> = {
  execution_completed: "completed",
  execution_failed: "failed",
  execution_cancelled: "cancelled",
  execution_interrupted: "interrupted",
  execution_resumed: "running",
};

// A run's detail is read again at most this often while its events stream in.
const DETAIL_REFRESH_MS = 250;
const refreshing = new Set<string>();

function refreshExecution(qc: QueryClient, id: string) {
  if (refreshing.has(id)) return;
  refreshing.add(id);
  window.setTimeout(() => {
    refreshing.delete(id);
    qc.invalidateQueries({ queryKey: keys.execution(id) });
  }, DETAIL_REFRESH_MS);
}

export function applyEvent(qc: QueryClient, event: WsEvent): void {
  applyToCache(qc, event);
  rereadAfterEvent(qc, event);
}

function applyToCache(qc: QueryClient, event: WsEvent): void {
  const channel = event.channel ?? "";
  const data = event.data ?? {};
  if (channel.startsWith("execution:")) {
    // The execution page's channel: the log it shows comes from the API.
    if (event.execution_id && event.type !== "chat_delta") refreshExecution(qc, event.execution_id);
    return;
  }
  if (!channel.startsWith("workflow:")) return;
  const slug = channel.slice("workflow:".length);

  switch (event.type) {
    case "node_created":
    case "node_updated":
      upsertNode(qc, slug, data as unknown as WorkflowNode);
      return;
    case "node_deleted":
      removeNode(qc, slug, String(data.node_id));
      return;
    case "edge_created":
    case "edge_updated":
      upsertEdge(qc, slug, data as unknown as WorkflowEdge);
      return;
    case "edge_deleted":
      removeEdge(qc, slug, Number(data.id));
      return;
    case "workflow_updated":
      applyWorkflow(qc, slug, data as unknown as Workflow);
      return;
    case "workflow_deleted":
      removeWorkflow(qc, slug);
      return;
    case "execution_started":
      if (event.execution_id) liveStarted(qc, slug, event.execution_id);
      qc.invalidateQueries({ queryKey: keys.executions });
      return;
    case "node_status":
      if (event.execution_id) liveNodeStatus(qc, slug, event.execution_id, data);
      return;
  }
  const ended = EXECUTION_END[event.type];
  if (ended && event.execution_id) {
    liveExecutionStatus(qc, slug, event.execution_id, ended, (data.error as string | undefined) ?? null);
    qc.invalidateQueries({ queryKey: keys.executions });
    refreshExecution(qc, event.execution_id);
  }
}
