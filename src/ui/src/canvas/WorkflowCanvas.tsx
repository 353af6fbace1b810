// The editable canvas: the workflow's nodes and edges with React Flow, each node with the
// live status of the run the page follows. Editing is useCanvasEditing's; what is drawn
// comes from the query cache (useCanvasNodes, useCanvasEdges).

import { Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { useCallback, useEffect, useRef, useState, type RefObject } from "react";
import type { LiveRun } from "../api/live";
import type { NodeType, WorkflowDetail } from "../api/types";
import type { WorkflowEditor } from "../edit/useWorkflowEditor";
import type { Theme } from "../theme/theme";
import { EditBar } from "./EditBar";
import { NodeCard, type NodeCardNode } from "./NodeCard";
import { useCanvasEdges, useRouteLabels } from "./useCanvasEdges";
import { useCanvasEditing } from "./useCanvasEditing";
import { useCanvasNodes } from "./useCanvasNodes";

const nodeTypes = { pipelit: NodeCard };
const STATUS_COLORS: Record<string, string> = {
  running: "#2f6fde",
  success: "#1f8a4c",
  failed: "#c9302c",
  waiting: "#b7791f",
};
const miniMapColor = (n: NodeCardNode) => STATUS_COLORS[n.data.live?.status ?? ""] ?? "#8a94a6";
const DELETE_KEYS = ["Delete", "Backspace"];
const FIT = { maxZoom: 1.2 };
// A card's usual size.
const CARD = { width: 200, height: 64 };

interface Props {
  workflow: WorkflowDetail;
  types: Record<string, NodeType> | undefined;
  live: LiveRun;
  theme: Theme;
  edit: WorkflowEditor;
  onSelect: (nodeId: string | null) => void;
}

/** Fits the view when nodes come that are wholly out of sight (added elsewhere), not on every edit. */
function useFitNewNodes(nodes: NodeCardNode[], wrapper: RefObject<HTMLDivElement | null>) {
  const flow = useReactFlow();
  const known = useRef<Set<string> | null>(null);
  useEffect(() => {
    const previous = known.current;
    known.current = new Set(nodes.map((n) => n.id));
    if (!previous || !wrapper.current) return;
    const fresh = nodes.filter((n) => !previous.has(n.id));
    if (fresh.length === 0) return;
    const { x, y, zoom } = flow.getViewport();
    const view = { left: -x / zoom, top: -y / zoom, width: wrapper.current.clientWidth / zoom, height: wrapper.current.clientHeight / zoom };
    const outOfSight = fresh.some(
      (n) => n.position.x + CARD.width < view.left || n.position.y + CARD.height < view.top ||
        n.position.x > view.left + view.width || n.position.y > view.top + view.height,
    );
    if (!outOfSight) return;
    const id = window.requestAnimationFrame(() => void flow.fitView({ duration: 0, ...FIT }));
    return () => window.cancelAnimationFrame(id);
  }, [nodes, flow, wrapper]);
}

function CanvasView({ workflow, types, live, theme, edit, onSelect }: Props) {
  const running = live.status === "running";
  const editing = useCanvasEditing(workflow, edit, onSelect);
  const nodes = useCanvasNodes(workflow, types, live.nodes, editing.dragged, editing.selectedNodes, editing.measurements);
  const routeLabels = useRouteLabels(workflow.nodes);
  const edges = useCanvasEdges(workflow.edges, running, live.nodes, editing.selectedEdges, routeLabels);
  const wrapper = useRef<HTMLDivElement>(null);
  useFitNewNodes(nodes, wrapper);
  // Fitted when opened with nodes; an empty canvas stays as it is for the first ones dropped
  // (React Flow would otherwise fit the view to the first node once it is measured).
  const [fitAtStart] = useState(() => workflow.nodes.length > 0);
  const h = editing.handlers;
  // Handlers keep their identity: React Flow hands them to every node, which would all be
  // drawn again for a new one.
  const onNodeClick = useCallback((_: unknown, node: NodeCardNode) => onSelect(node.id), [onSelect]);
  const onPaneClick = useCallback(() => onSelect(null), [onSelect]);

  return (
    <div className="canvas-flow" ref={wrapper} onDragOver={h.onDragOver} onDrop={h.onDrop}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        colorMode={theme}
        fitView={fitAtStart}
        fitViewOptions={FIT}
        minZoom={0.05}
        onNodesChange={h.onNodesChange}
        onEdgesChange={h.onEdgesChange}
        onNodeDragStart={h.onNodeDragStart}
        onNodeDragStop={h.onNodeDragStop}
        onConnect={h.onConnect}
        onDelete={h.onDelete}
        deleteKeyCode={DELETE_KEYS}
        onNodeClick={onNodeClick}
        onPaneClick={onPaneClick}
      >
        <Background />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable nodeColor={miniMapColor} nodeStrokeWidth={0} />
        <EditBar edit={edit} />
      </ReactFlow>
    </div>
  );
}

export function WorkflowCanvas(props: Props) {
  return (
    <ReactFlowProvider>
      <CanvasView {...props} />
    </ReactFlowProvider>
  );
}
