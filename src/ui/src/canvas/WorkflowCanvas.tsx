// The read-only canvas: the workflow's nodes and edges with React Flow, each node with the
// live status of the run the page follows.

import {
  Background,
  Controls,
  MarkerType,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Edge,
} from "@xyflow/react";
import { useEffect, useMemo, useRef } from "react";
import type { LiveRun } from "../api/live";
import type { NodeType, WorkflowDetail, WorkflowEdge } from "../api/types";
import type { Theme } from "../theme/theme";
import { placeNodes } from "./layout";
import { NodeCard, type NodeCardNode } from "./NodeCard";

const nodeTypes = { pipelit: NodeCard };
// The node card's width (styles.css) and its usual height.
const NODE_WIDTH = 200;
const NODE_HEIGHT = 64;
const STATUS_COLORS: Record<string, string> = {
  running: "#2f6fde",
  success: "#1f8a4c",
  failed: "#c9302c",
  waiting: "#b7791f",
};
const miniMapColor = (n: NodeCardNode) => STATUS_COLORS[n.data.live?.status ?? ""] ?? "#8a94a6";
// Edges that attach a model, tools or memory to the node using them, not flow.
const ATTACHMENTS = new Set(["llm", "tool", "skill", "output_parser", "memory"]);

interface Props {
  workflow: WorkflowDetail;
  types: Record<string, NodeType> | undefined;
  live: LiveRun;
  theme: Theme;
  onSelect: (nodeId: string | null) => void;
}

function CanvasView({ workflow, types, live, theme, onSelect }: Props) {
  const liveNodes = live.nodes;
  const running = live.status === "running";
  // A node's object is kept while nothing it shows changed, so that an event re-renders
  // the one node it is about, not all of them (React Flow compares them by identity).
  const nodeCache = useRef(new Map<string, NodeCardNode>());
  const nodes = useMemo<NodeCardNode[]>(() => {
    const positions = placeNodes(workflow.nodes, workflow.edges);
    const attachIn = new Set<string>();
    const attachOut = new Set<string>();
    for (const e of workflow.edges)
      if (ATTACHMENTS.has(e.edge_label)) {
        attachIn.add(e.target_node_id);
        attachOut.add(e.source_node_id);
      }
    const next = new Map<string, NodeCardNode>();
    const list = workflow.nodes.map((n) => {
      const type = types?.[n.component_type];
      const typeName = type?.display_name ?? n.component_type.replace(/^trigger_/, "");
      const position = positions.get(n.node_id) ?? { x: 0, y: 0 };
      const live = liveNodes[n.node_id];
      const hasIn = attachIn.has(n.node_id);
      const hasOut = attachOut.has(n.node_id);
      const old = nodeCache.current.get(n.node_id);
      const node: NodeCardNode =
        old && old.data.node === n && old.data.live === live && old.data.typeName === typeName &&
        old.data.attachIn === hasIn && old.data.attachOut === hasOut &&
        old.position.x === position.x && old.position.y === position.y
          ? old
          : {
              id: n.node_id,
              type: "pipelit",
              position,
              // Drawn (and fitted) at once at about its size, before React Flow measures it.
              initialWidth: NODE_WIDTH,
              initialHeight: NODE_HEIGHT,
              data: { node: n, typeName, category: type?.category ?? "other", live, attachIn: hasIn, attachOut: hasOut },
            };
      next.set(n.node_id, node);
      return node;
    });
    nodeCache.current = next;
    return list;
  }, [workflow.nodes, workflow.edges, types, liveNodes]);

  const edgeCache = useRef(new Map<number, { source: WorkflowEdge; animated: boolean; edge: Edge }>());
  const edges = useMemo<Edge[]>(() => {
    const next = new Map<number, { source: WorkflowEdge; animated: boolean; edge: Edge }>();
    const list: Edge[] = [];
    for (const e of workflow.edges) {
      if (e.target_node_id === "__end__") continue;
      const attachment = ATTACHMENTS.has(e.edge_label);
      const animated = !attachment && running && !!liveNodes[e.source_node_id];
      const old = edgeCache.current.get(e.id);
      const edge: Edge =
        old && old.source === e && old.animated === animated
          ? old.edge
          : {
              id: String(e.id),
              source: e.source_node_id,
              target: e.target_node_id,
              sourceHandle: attachment ? "sub" : undefined,
              targetHandle: attachment ? "attach" : undefined,
              label: e.edge_type === "conditional" ? e.condition_value ?? undefined : e.edge_label || undefined,
              className: attachment ? "edge-attachment" : `edge-${e.edge_type}`,
              animated,
              markerEnd: attachment ? undefined : { type: MarkerType.ArrowClosed },
            };
      next.set(e.id, { source: e, animated, edge });
      list.push(edge);
    }
    edgeCache.current = next;
    return list;
  }, [workflow.edges, running, liveNodes]);

  // Fit the view when nodes come or go, so a node added elsewhere shows up.
  const flow = useReactFlow();
  const count = useRef(nodes.length);
  useEffect(() => {
    if (count.current === nodes.length) return;
    count.current = nodes.length;
    const id = window.requestAnimationFrame(() => void flow.fitView({ duration: 0, maxZoom: 1.2 }));
    return () => window.cancelAnimationFrame(id);
  }, [nodes.length, flow]);

  return (
    <ReactFlow
      nodes={nodes}
      edges={edges}
      nodeTypes={nodeTypes}
      colorMode={theme}
      fitView
      fitViewOptions={{ maxZoom: 1.2 }}
      minZoom={0.05}
      nodesDraggable={false}
      nodesConnectable={false}
      edgesFocusable={false}
      elementsSelectable
      onNodeClick={(_, node) => onSelect(node.id)}
      onPaneClick={() => onSelect(null)}
    >
      <Background />
      <Controls showInteractive={false} />
      <MiniMap pannable zoomable nodeColor={miniMapColor} nodeStrokeWidth={0} />
    </ReactFlow>
  );
}

export function WorkflowCanvas(props: Props) {
  return (
    <ReactFlowProvider>
      <CanvasView {...props} />
    </ReactFlowProvider>
  );
}
