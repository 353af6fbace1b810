// Where nodes go on the canvas: their saved position, or — for nodes never placed (at
// 0,0, e.g. made through the API) — a column per step from the triggers.

import type { WorkflowEdge, WorkflowNode } from "../api/types";

const COLUMN = 280;
const ROW = 130;

export function placeNodes(nodes: WorkflowNode[], edges: WorkflowEdge[]): Map<string, { x: number; y: number }> {
  const placed = new Map<string, { x: number; y: number }>();
  const unplaced = nodes.filter((n) => !n.position_x && !n.position_y);
  for (const n of nodes) if (n.position_x || n.position_y) placed.set(n.node_id, { x: n.position_x, y: n.position_y });
  if (unplaced.length === 0) return placed;

  // Longest path from a node without incoming edges gives its column (cycles are cut).
  const incoming = new Map<string, string[]>();
  for (const e of edges) {
    if (!incoming.has(e.target_node_id)) incoming.set(e.target_node_id, []);
    incoming.get(e.target_node_id)!.push(e.source_node_id);
  }
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    let d = 0;
    for (const parent of incoming.get(id) ?? []) d = Math.max(d, depthOf(parent) + 1);
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };

  const rows = new Map<number, number>();
  for (const n of unplaced) {
    const column = depthOf(n.node_id);
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    placed.set(n.node_id, { x: column * COLUMN, y: row * ROW });
  }
  return placed;
}
