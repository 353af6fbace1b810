// One workflow node on the canvas: its label, type, entry-point mark, live status, and the
// handles it connects by (canvas/handles.ts): flow in on the left, flow out and routes on
// the right, attachment slots at the bottom, an attachment's plug at the top.

import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import type { NodeLive } from "../api/live";
import type { WorkflowNode } from "../api/types";
import { StatusBadge } from "../components/StatusBadge";
import { ATTACH_OUT, FLOW_IN, FLOW_OUT, LOOP_BODY, LOOP_RETURN, routeHandle, type CardHandles } from "./handles";

export type NodeCardData = {
  node: WorkflowNode;
  typeName: string;
  category: string;
  live: NodeLive | undefined;
  handles: CardHandles;
};

export type NodeCardNode = Node<NodeCardData, "pipelit">;

function OutRow({ id, label, className }: { id: string; label: string; className?: string }) {
  return (
    <div className={`node-out${className ? ` ${className}` : ""}`}>
      {label}
      <Handle type="source" id={id} position={Position.Right} title={label} />
    </div>
  );
}

function Outputs({ handles }: { handles: CardHandles }) {
  const { flowOut, routes, loop } = handles;
  // A lone output sits at the middle of the right side; several are listed with labels.
  if (routes.length === 0 && !loop) return flowOut ? <Handle type="source" id={FLOW_OUT} position={Position.Right} /> : null;
  return (
    <div className="node-outs">
      {flowOut && <OutRow id={FLOW_OUT} label={loop ? "done" : "output"} className="node-out-flow" />}
      {routes.map((r) => (
        <OutRow key={r.id} id={routeHandle(r.id)} label={r.label} className="node-out-route" />
      ))}
      {loop && <OutRow id={LOOP_BODY} label="each item" className="node-out-loop" />}
    </div>
  );
}

function Slots({ handles }: { handles: CardHandles }) {
  const { slots, loop } = handles;
  if (slots.length === 0 && !loop) return null;
  return (
    <div className="node-slots">
      {slots.map((s) => (
        <div key={s.handle} className={`node-slot slot-${s.handle}`}>
          {s.title}
          <Handle type="target" id={s.handle} position={Position.Bottom} className="handle-slot" title={s.title} />
        </div>
      ))}
      {loop && (
        <div className="node-slot slot-loop-return">
          return
          <Handle type="target" id={LOOP_RETURN} position={Position.Bottom} className="handle-slot" title="return" />
        </div>
      )}
    </div>
  );
}

function NodeCardView({ data, selected }: NodeProps<NodeCardNode>) {
  const { node, typeName, category, live, handles } = data;
  const status = live?.status;
  const model = node.component_type === "ai_model" ? node.config.model_name : null;
  return (
    <div
      className={`node-card category-${category}${status ? ` status-${status}` : ""}${selected ? " selected" : ""}`}
      data-testid="canvas-node"
      data-node-id={node.node_id}
      data-type={node.component_type}
      data-status={status ?? "idle"}
    >
      {handles.flowIn && <Handle type="target" id={FLOW_IN} position={Position.Left} />}
      {handles.attachOut && (
        <Handle type="source" id={ATTACH_OUT} position={Position.Top} className="handle-plug" title="attach" />
      )}
      <div className="node-head">
        <span className="node-type">{typeName}</span>
        {status && <StatusBadge status={status} />}
      </div>
      <div className="node-label">{node.label || node.node_id}</div>
      {node.label && <div className="node-id mono">{node.node_id}</div>}
      {model && <div className="node-id mono">{model}</div>}
      {node.is_entry_point && <div className="node-entry">Entry point</div>}
      {status === "failed" && live?.error && (
        <div className="node-error" data-testid="node-error">
          {live.error}
        </div>
      )}
      <Outputs handles={handles} />
      <Slots handles={handles} />
    </div>
  );
}

export const NodeCard = memo(NodeCardView);
