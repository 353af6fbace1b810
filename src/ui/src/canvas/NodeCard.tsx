// One workflow node on the canvas: its label, type, entry-point mark and live status.

import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import type { NodeLive } from "../api/live";
import type { WorkflowNode } from "../api/types";
import { StatusBadge } from "../components/StatusBadge";

export type NodeCardData = {
  node: WorkflowNode;
  typeName: string;
  category: string;
  live: NodeLive | undefined;
  // Handles for attachment edges (model, tools, memory), only where such edges are.
  attachIn: boolean;
  attachOut: boolean;
};

export type NodeCardNode = Node<NodeCardData, "pipelit">;

function NodeCardView({ data, selected }: NodeProps<NodeCardNode>) {
  const { node, typeName, category, live, attachIn, attachOut } = data;
  const isTrigger = node.component_type.startsWith("trigger_");
  const status = live?.status;
  return (
    <div
      className={`node-card category-${category}${status ? ` status-${status}` : ""}${selected ? " selected" : ""}`}
      data-testid="canvas-node"
      data-node-id={node.node_id}
      data-status={status ?? "idle"}
    >
      {!isTrigger && <Handle type="target" position={Position.Left} />}
      {attachIn && <Handle type="target" id="attach" position={Position.Bottom} className="handle-attach" />}
      <div className="node-head">
        <span className="node-type">{typeName}</span>
        {status && <StatusBadge status={status} />}
      </div>
      <div className="node-label">{node.label || node.node_id}</div>
      {node.label && <div className="node-id mono">{node.node_id}</div>}
      {node.is_entry_point && <div className="node-entry">Entry point</div>}
      {status === "failed" && live?.error && (
        <div className="node-error" data-testid="node-error">
          {live.error}
        </div>
      )}
      <Handle type="source" position={Position.Right} />
      {attachOut && <Handle type="source" id="sub" position={Position.Top} className="handle-attach" />}
    </div>
  );
}

export const NodeCard = memo(NodeCardView);
