// The edits the workflow page makes — add, move, connect, delete, change a node — each
// through the API (api/editing.ts) and each leaving its undo step in the history.

import { edgeInput, nodeInput, type EdgeInput, type NodeChange, type WorkflowEditing } from "../api/editing";
import type { WorkflowEdge, WorkflowNode } from "../api/types";
import type { UndoHistory } from "./undo";

export interface Move {
  nodeId: string;
  from: { x: number; y: number };
  to: { x: number; y: number };
}

export interface Editor {
  addNode(componentType: string, position: { x: number; y: number }): Promise<WorkflowNode>;
  moveNodes(moves: Move[]): Promise<void>;
  connect(edge: EdgeInput): Promise<WorkflowEdge>;
  /** Deletes nodes (with their edges, which must be among edges) and edges. */
  remove(nodes: WorkflowNode[], edges: WorkflowEdge[]): Promise<void>;
  /** Changes node (as it is now) by change. */
  updateNode(node: WorkflowNode, change: NodeChange): Promise<WorkflowNode>;
  undo(): Promise<void>;
}

const plural = (n: number, one: string) => (n === 1 ? `1 ${one}` : `${n} ${one}s`);

/** The values node has now of the fields change sets: the change that reverts it. */
function previousValues(node: WorkflowNode, change: NodeChange): NodeChange {
  const before: Record<string, unknown> = {};
  for (const key of Object.keys(change)) {
    if (key === "config") continue;
    before[key] = node[key as keyof WorkflowNode];
  }
  if (change.config) {
    const config: Record<string, unknown> = {};
    for (const key of Object.keys(change.config)) config[key] = node.config[key] ?? null;
    before.config = config;
  }
  return before as NodeChange;
}

export function createEditor(api: WorkflowEditing, history: UndoHistory): Editor {
  return {
    async addNode(componentType, position) {
      const node = await api.createNode({
        component_type: componentType,
        position_x: Math.round(position.x),
        position_y: Math.round(position.y),
      });
      history.push({ label: "add node", revert: () => api.deleteNode(node.node_id) });
      return node;
    },

    async moveNodes(moves) {
      const done: Move[] = [];
      try {
        for (const m of moves) {
          await api.updateNode(m.nodeId, { position_x: Math.round(m.to.x), position_y: Math.round(m.to.y) });
          done.push(m);
        }
      } finally {
        if (done.length)
          history.push({
            label: done.length === 1 ? "move" : `move ${done.length} nodes`,
            revert: async () => {
              for (const m of done) await api.updateNode(m.nodeId, { position_x: m.from.x, position_y: m.from.y });
            },
          });
      }
    },

    async connect(edge) {
      const created = await api.createEdge(edge);
      history.push({ label: "connect", revert: (ctx) => api.deleteEdge(ctx.edgeId(created.id)) });
      return created;
    },

    async remove(nodes, edges) {
      const gone = new Set(nodes.map((n) => n.node_id));
      const deletedNodes: WorkflowNode[] = [];
      const deletedEdges: WorkflowEdge[] = [];
      try {
        // Edges between the rest first: a node's deletion takes its own edges along.
        for (const e of edges) {
          if (gone.has(e.source_node_id) || gone.has(e.target_node_id)) continue;
          await api.deleteEdge(e.id);
          deletedEdges.push(e);
        }
        for (const n of nodes) {
          await api.deleteNode(n.node_id);
          deletedNodes.push(n);
          deletedEdges.push(...edges.filter((e) => e.source_node_id === n.node_id || e.target_node_id === n.node_id));
        }
      } finally {
        if (deletedNodes.length || deletedEdges.length) {
          const unique = [...new Map(deletedEdges.map((e) => [e.id, e])).values()];
          history.push({
            label: `delete ${deletedNodes.length ? plural(deletedNodes.length, "node") : plural(unique.length, "edge")}`,
            revert: async (ctx) => {
              for (const n of deletedNodes) await api.createNode(nodeInput(n));
              for (const e of unique) {
                const again = await api.createEdge(edgeInput(e));
                ctx.edgeRecreated(e.id, again.id);
              }
            },
          });
        }
      }
    },

    async updateNode(node, change) {
      const before = previousValues(node, change);
      const updated = await api.updateNode(node.node_id, change);
      history.push({ label: "change settings", revert: () => api.updateNode(node.node_id, before).then(() => {}) });
      return updated;
    },

    async undo() {
      await history.undo();
    },
  };
}
