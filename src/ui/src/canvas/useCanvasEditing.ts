// What the mouse and the keyboard do on the canvas: drop a node type from the palette, drag
// nodes (their positions saved when dropped), connect handles, select and delete with the
// Delete key, undo with Ctrl+Z. React Flow reports the changes; the edits go through the
// editor (edit/operations.ts) and come back through the query cache.

import {
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type Node,
  type NodeChange,
} from "@xyflow/react";
import { useCallback, useEffect, useRef, useState, type DragEvent } from "react";
import type { WorkflowDetail } from "../api/types";
import type { WorkflowEditor } from "../edit/useWorkflowEditor";
import { connectionEdge } from "./handles";
import type { NodeCardNode } from "./NodeCard";
import { PALETTE_MIME } from "./Palette";
import { Measurements, type XY } from "./useCanvasNodes";

// Where a dropped card goes: its middle under the pointer (the card's usual size).
const DROP_OFFSET = { x: 100, y: 32 };

function withoutKeys<K, V>(map: Map<K, V>, keys: Iterable<K>): Map<K, V> {
  const next = new Map(map);
  for (const k of keys) next.delete(k);
  return next;
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
}

function applySelection(current: Set<string>, changes: { id: string; type: string; selected?: boolean }[]): Set<string> {
  let next: Set<string> | null = null;
  for (const c of changes) {
    if (c.type !== "select" || current.has(c.id) === c.selected) continue;
    next ??= new Set(current);
    if (c.selected) next.add(c.id);
    else next.delete(c.id);
  }
  return next ?? current;
}

export function useCanvasEditing(
  workflow: WorkflowDetail,
  edit: WorkflowEditor,
  onSelect: (nodeId: string | null) => void,
) {
  const flow = useReactFlow();
  const [dragged, setDragged] = useState(() => new Map<string, XY>());
  const [selectedNodes, setSelectedNodes] = useState(() => new Set<string>());
  const [selectedEdges, setSelectedEdges] = useState(() => new Set<string>());
  const [measurements] = useState(() => new Measurements());
  const dragStart = useRef(new Map<string, { saved: XY; drawn: XY }>());
  const { run, undo } = edit;
  // The handlers read the workflow as it is when they run, and keep their identity.
  const current = useRef(workflow);
  current.current = workflow;

  const onNodesChange = useCallback(
    (changes: NodeChange<NodeCardNode>[]) => {
      let moved: Map<string, XY> | null = null;
      for (const c of changes) {
        if (c.type === "dimensions" && c.dimensions) {
          measurements.measured(c.id, c.dimensions);
        } else if (c.type === "position" && c.position) {
          (moved ??= new Map()).set(c.id, c.position);
        }
      }
      if (moved) setDragged((d) => new Map([...d, ...moved!]));
      if (changes.some((c) => c.type === "select"))
        setSelectedNodes((s) => applySelection(s, changes as { id: string; type: string; selected?: boolean }[]));
    },
    [measurements],
  );

  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    if (changes.some((c) => c.type === "select"))
      setSelectedEdges((s) => applySelection(s, changes as { id: string; type: string; selected?: boolean }[]));
  }, []);

  const onNodeDragStart = useCallback((_: unknown, __: Node, nodes: Node[]) => {
    dragStart.current = new Map(
      nodes.map((n) => {
        const saved = (n as NodeCardNode).data.node;
        return [n.id, { saved: { x: saved.position_x, y: saved.position_y }, drawn: { ...n.position } }];
      }),
    );
  }, []);

  const onNodeDragStop = useCallback(
    (_: unknown, __: Node, nodes: Node[]) => {
      const moves = nodes
        .map((n) => ({ nodeId: n.id, start: dragStart.current.get(n.id), to: n.position }))
        .filter((m) => m.start && (m.start.drawn.x !== m.to.x || m.start.drawn.y !== m.to.y))
        .map((m) => ({ nodeId: m.nodeId, from: m.start!.saved, to: m.to }));
      const ids = nodes.map((n) => n.id);
      if (moves.length === 0) {
        setDragged((d) => withoutKeys(d, ids));
        return;
      }
      // The dragged positions stay until the answers are in the cache (or the move failed).
      void run((e) => e.moveNodes(moves)).finally(() => setDragged((d) => withoutKeys(d, ids)));
    },
    [run],
  );

  const onConnect = useCallback(
    (c: Connection) => void run((e) => e.connect(connectionEdge(c.source, c.sourceHandle, c.target, c.targetHandle))),
    [run],
  );

  const onDelete = useCallback(
    ({ nodes, edges }: { nodes: Node[]; edges: Edge[] }) => {
      const nodeIds = new Set(nodes.map((n) => n.id));
      const edgeIds = new Set(edges.map((e) => e.id));
      const { nodes: allNodes, edges: allEdges } = current.current;
      const gone = allNodes.filter((n) => nodeIds.has(n.node_id));
      // With the edges the canvas does not draw (to "__end__").
      const goneEdges = allEdges.filter(
        (e) => edgeIds.has(String(e.id)) || nodeIds.has(e.source_node_id) || nodeIds.has(e.target_node_id),
      );
      if (gone.length === 0 && goneEdges.length === 0) return;
      void run((e) => e.remove(gone, goneEdges));
      setSelectedNodes((s) => new Set([...s].filter((id) => !nodeIds.has(id))));
      setSelectedEdges((s) => new Set([...s].filter((id) => !edgeIds.has(id))));
    },
    [run],
  );

  const onDragOver = useCallback((event: DragEvent) => {
    if (!event.dataTransfer.types.includes(PALETTE_MIME)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  }, []);

  const onDrop = useCallback(
    (event: DragEvent) => {
      const type = event.dataTransfer.getData(PALETTE_MIME);
      if (!type) return;
      event.preventDefault();
      const at = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      void run((e) => e.addNode(type, { x: at.x - DROP_OFFSET.x, y: at.y - DROP_OFFSET.y })).then((node) => {
        if (node) onSelect(node.node_id);
      });
    },
    [flow, run, onSelect],
  );

  // Ctrl+Z (⌘Z) undoes the last edit, but not while a field has the keyboard: there it
  // undoes typing.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key.toLowerCase() !== "z" || !(e.ctrlKey || e.metaKey) || e.shiftKey || e.altKey || isTyping(e.target)) return;
      e.preventDefault();
      undo();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [undo]);

  return {
    dragged, selectedNodes, selectedEdges, measurements,
    handlers: { onNodesChange, onEdgesChange, onNodeDragStart, onNodeDragStop, onConnect, onDelete, onDragOver, onDrop },
  };
}
