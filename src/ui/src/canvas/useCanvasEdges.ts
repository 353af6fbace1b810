// The canvas's edge objects: each joins the handles its kind names (handles.ts), flow edges
// of a running workflow move, and — as for nodes — an edge's object is kept while nothing
// it shows changed.

import { MarkerType, type Edge } from "@xyflow/react";
import { useMemo, useRef } from "react";
import type { NodeLive } from "../api/live";
import type { WorkflowEdge, WorkflowNode } from "../api/types";
import { edgeHandles, FALLBACK_ROUTE, isAttachment, nodeRoutes } from "./handles";

interface Cached {
  source: WorkflowEdge;
  animated: boolean;
  selected: boolean;
  label: string | undefined;
  edge: Edge;
}

/** node id → route id → what the route is called (a switch rule's label). */
export type RouteLabels = Map<string, Map<string, string>>;

/** The labels of the routes of the workflow's routing nodes. */
export function useRouteLabels(nodes: WorkflowNode[]): RouteLabels {
  const cache = useRef<{ labels: RouteLabels; key: string } | null>(null);
  return useMemo(() => {
    const labels: RouteLabels = new Map();
    for (const n of nodes) {
      const routes = nodeRoutes(n);
      if (routes.length) labels.set(n.node_id, new Map(routes.map((r) => [r.id, r.label])));
    }
    // The same labels as before keep their object: the edges are not made again.
    const key = JSON.stringify([...labels].map(([id, m]) => [id, [...m]]));
    if (cache.current?.key === key) return cache.current.labels;
    cache.current = { labels, key };
    return labels;
  }, [nodes]);
}

function edgeLabel(e: WorkflowEdge, routeLabels: RouteLabels): string | undefined {
  if (e.edge_type === "conditional") {
    const value = e.condition_value ?? "";
    return routeLabels.get(e.source_node_id)?.get(value) ?? (value === FALLBACK_ROUTE ? "other" : value);
  }
  if (e.edge_label === "loop_body") return "each item";
  if (e.edge_label === "loop_return") return "return";
  return e.edge_label || undefined;
}

export function useCanvasEdges(
  edges: WorkflowEdge[],
  running: boolean,
  liveNodes: Record<string, NodeLive>,
  selected: Set<string>,
  routeLabels: RouteLabels,
): Edge[] {
  const cache = useRef(new Map<number, Cached>());
  return useMemo(() => {
    const next = new Map<number, Cached>();
    const list: Edge[] = [];
    for (const e of edges) {
      // The end of a branch is no node.
      if (e.target_node_id === "__end__") continue;
      const attachment = isAttachment(e.edge_label);
      const animated = !attachment && running && !!liveNodes[e.source_node_id];
      const isSelected = selected.has(String(e.id));
      const label = edgeLabel(e, routeLabels);
      const old = cache.current.get(e.id);
      let entry: Cached;
      if (old && old.source === e && old.animated === animated && old.selected === isSelected && old.label === label) entry = old;
      else {
        const handles = edgeHandles(e);
        entry = {
          source: e,
          animated,
          selected: isSelected,
          label,
          edge: {
            id: String(e.id),
            source: e.source_node_id,
            target: e.target_node_id,
            sourceHandle: handles.source,
            targetHandle: handles.target,
            label,
            className: attachment ? "edge-attachment" : `edge-${e.edge_type}`,
            animated,
            selected: isSelected,
            markerEnd: attachment ? undefined : { type: MarkerType.ArrowClosed },
          },
        };
      }
      next.set(e.id, entry);
      list.push(entry.edge);
    }
    cache.current = next;
    return list;
  }, [edges, running, liveNodes, selected, routeLabels]);
}
