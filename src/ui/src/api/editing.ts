// The editor's changes to a workflow's nodes and edges: each call goes to the API and puts
// the answer into the query cache (cache.ts), so nothing is read again. Other tabs get the
// same change from the server's event.

import type { QueryClient } from "@tanstack/react-query";
import { removeEdge, removeNode, upsertEdge, upsertNode } from "./cache";
import { del, patch, post } from "./client";
import type { NodeConfig, WorkflowEdge, WorkflowNode } from "./types";

/** What POST /nodes/ takes: a node as the API answers it, without the database's fields. */
export interface NodeInput {
  component_type: string;
  node_id?: string;
  label?: string | null;
  is_entry_point?: boolean;
  interrupt_before?: boolean;
  interrupt_after?: boolean;
  position_x?: number;
  position_y?: number;
  config?: Partial<NodeConfig>;
}

export type NodeChange = Partial<Omit<NodeInput, "component_type" | "node_id">>;

export interface EdgeInput {
  source_node_id: string;
  target_node_id: string;
  edge_type?: "direct" | "conditional";
  edge_label?: string;
  condition_value?: string | null;
  priority?: number;
}

export interface WorkflowEditing {
  createNode(node: NodeInput): Promise<WorkflowNode>;
  updateNode(nodeId: string, change: NodeChange): Promise<WorkflowNode>;
  deleteNode(nodeId: string): Promise<void>;
  createEdge(edge: EdgeInput): Promise<WorkflowEdge>;
  deleteEdge(id: number): Promise<void>;
}

export function workflowEditing(qc: QueryClient, slug: string): WorkflowEditing {
  const base = `/workflows/${encodeURIComponent(slug)}`;
  return {
    async createNode(node) {
      const created = await post<WorkflowNode>(`${base}/nodes/`, node);
      upsertNode(qc, slug, created);
      return created;
    },
    async updateNode(nodeId, change) {
      const updated = await patch<WorkflowNode>(`${base}/nodes/${encodeURIComponent(nodeId)}/`, change);
      upsertNode(qc, slug, updated);
      return updated;
    },
    async deleteNode(nodeId) {
      await del(`${base}/nodes/${encodeURIComponent(nodeId)}/`);
      removeNode(qc, slug, nodeId);
    },
    async createEdge(edge) {
      const created = await post<WorkflowEdge>(`${base}/edges/`, edge);
      upsertEdge(qc, slug, created);
      return created;
    },
    async deleteEdge(id) {
      await del(`${base}/edges/${id}/`);
      removeEdge(qc, slug, id);
    },
  };
}

/** The body that creates node again as it is (for undoing its deletion). */
export function nodeInput(node: WorkflowNode): NodeInput {
  return {
    component_type: node.component_type,
    node_id: node.node_id,
    label: node.label,
    is_entry_point: node.is_entry_point,
    interrupt_before: node.interrupt_before,
    interrupt_after: node.interrupt_after,
    position_x: node.position_x,
    position_y: node.position_y,
    config: configInput(node.config),
  };
}

// Fields the API answers but does not take back as they are.
const ANSWER_ONLY = new Set(["llm_model_config_id"]);

function configInput(config: NodeConfig): Partial<NodeConfig> {
  const out: Partial<NodeConfig> = {};
  for (const [k, v] of Object.entries(config)) if (v !== null && !ANSWER_ONLY.has(k)) out[k] = v;
  return out;
}

export function edgeInput(edge: WorkflowEdge): EdgeInput {
  return {
    source_node_id: edge.source_node_id,
    target_node_id: edge.target_node_id,
    edge_type: edge.edge_type,
    edge_label: edge.edge_label,
    condition_value: edge.condition_value || null,
    priority: edge.priority,
  };
}
