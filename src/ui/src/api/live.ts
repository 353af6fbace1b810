// What the canvas shows of the run it follows: each node's last status, kept in the query
// cache under keys.live(slug). Read from the API when the canvas opens (the workflow's
// newest run) and after a reconnect; WebSocket events keep it current in between.

import type { QueryClient } from "@tanstack/react-query";
import { get } from "./client";
import { keys } from "./keys";
import type { Execution, ExecutionDetail, Page } from "./types";

export type NodeLiveStatus = "running" | "success" | "failed" | "waiting" | "skipped";

export interface NodeLive {
  status: NodeLiveStatus;
  error?: string | null;
  error_code?: string | null;
  output?: unknown;
  duration_ms?: number;
  will_retry?: boolean;
}

export interface LiveRun {
  execution_id: string | null;
  status: string | null;
  error?: string | null;
  nodes: Record<string, NodeLive>;
}

export const emptyLiveRun: LiveRun = { execution_id: null, status: null, nodes: {} };

const FINISHED = new Set(["completed", "failed", "cancelled"]);

export function liveStarted(qc: QueryClient, slug: string, executionId: string) {
  qc.setQueryData<LiveRun>(keys.live(slug), { execution_id: executionId, status: "running", nodes: {} });
}

/** Applies a node_status event; the canvas follows the newest run. A tool's calls by an
 * agent (is_tool_call) show on the tool's node. */
export function liveNodeStatus(qc: QueryClient, slug: string, executionId: string, data: Record<string, unknown>) {
  const nodeId = typeof data.node_id === "string" ? data.node_id : null;
  const status = data.status as NodeLiveStatus;
  if (!nodeId || !status) return;
  qc.setQueryData<LiveRun>(keys.live(slug), (old) => {
    let run = old ?? emptyLiveRun;
    if (run.execution_id !== executionId) {
      // A run that started before the page was open, or a newer one: follow it unless the
      // followed run is still going.
      if (run.execution_id && run.status && !FINISHED.has(run.status)) return run;
      run = { execution_id: executionId, status: "running", nodes: {} };
    }
    const node: NodeLive = {
      status,
      error: (data.error as string | undefined) ?? null,
      error_code: (data.error_code as string | undefined) ?? null,
      output: data.output,
      duration_ms: typeof data.duration_ms === "number" ? data.duration_ms : undefined,
      will_retry: data.will_retry === true,
    };
    return { ...run, nodes: { ...run.nodes, [nodeId]: node } };
  });
}

export function liveExecutionStatus(
  qc: QueryClient,
  slug: string,
  executionId: string,
  status: string,
  error?: string | null,
) {
  qc.setQueryData<LiveRun>(keys.live(slug), (old) =>
    !old || old.execution_id !== executionId ? old : { ...old, status, error: error ?? old.error ?? null },
  );
}

// node_runs statuses (docs/api.md) as the canvas shows them; queued nodes show nothing yet.
const RUN_STATUS: Record<string, NodeLiveStatus> = {
  running: "running",
  looping: "running",
  paused: "waiting",
  awaiting: "waiting",
  done: "success",
  failed: "failed",
  ruled_out: "skipped",
};

/** The workflow's newest run as the canvas shows it. */
export async function fetchLiveRun(slug: string): Promise<LiveRun> {
  const page = await get<Page<Execution>>(`/executions/?workflow_slug=${encodeURIComponent(slug)}&limit=1`);
  const newest = page.items[0];
  if (!newest) return emptyLiveRun;
  const detail = await get<ExecutionDetail>(`/executions/${encodeURIComponent(newest.execution_id)}/`);
  const nodes: Record<string, NodeLive> = {};
  for (const run of detail.node_runs) {
    const status = RUN_STATUS[run.status];
    if (status) nodes[run.node_id] = { status, error: run.error, error_code: run.error_code };
  }
  // The last attempt's log has the output and the duration.
  for (const log of detail.logs) {
    const node = nodes[log.node_id];
    if (!node) continue;
    node.output = log.output ?? undefined;
    node.duration_ms = log.duration_ms ?? undefined;
    if (log.error) node.error = log.error;
  }
  return { execution_id: detail.execution_id, status: detail.status, error: detail.error_message, nodes };
}
