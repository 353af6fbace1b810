// The canvas's node objects, made from the workflow in the query cache, the live run, the
// positions of nodes being dragged and the selection. A node's object is kept while nothing
// it shows changed, so that an event re-renders the one node it is about, not all of them
// (React Flow compares them by identity); and a node whose handles did not change keeps its
// measurements, so that it is not measured again (nor its edges hidden meanwhile).

import { useMemo, useRef } from "react";
import type { NodeLive } from "../api/live";
import type { NodeType, WorkflowDetail, WorkflowEdge, WorkflowNode } from "../api/types";
import { cardHandles, edgeHandles, handlesKey } from "./handles";
import { placeNodes } from "./layout";
import type { NodeCardNode } from "./NodeCard";

// The node card's width (styles.css) and its usual height.
const NODE_WIDTH = 200;
const NODE_HEIGHT = 64;

export type XY = { x: number; y: number };

/**
 * The sizes React Flow measured, each kept with the handles of the card it measured (a card
 * drawn with other handles must be measured again for its edges to find them).
 */
export class Measurements {
  private sizes = new Map<string, { width: number; height: number; key: string }>();
  private drawnKeys = new Map<string, string>();

  /** Notes the handles of the card drawn for id. */
  drawn(id: string, key: string) {
    this.drawnKeys.set(id, key);
  }

  measured(id: string, size: { width: number; height: number }) {
    const key = this.drawnKeys.get(id);
    if (key !== undefined) this.sizes.set(id, { width: size.width, height: size.height, key });
  }

  /** The size of id's card if it was measured with these handles. */
  get(id: string, key: string): { width: number; height: number } | undefined {
    const size = this.sizes.get(id);
    return size && size.key === key ? { width: size.width, height: size.height } : undefined;
  }
}

/** The handles each node's edges use, as sources and as targets. */
function usedHandles(edges: WorkflowEdge[]) {
  const sources = new Map<string, Set<string>>();
  const targets = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, id: string, handle: string) => {
    let s = m.get(id);
    if (!s) m.set(id, (s = new Set()));
    s.add(handle);
  };
  for (const e of edges) {
    const { source, target } = edgeHandles(e);
    add(sources, e.source_node_id, source);
    if (e.target_node_id !== "__end__") add(targets, e.target_node_id, target);
  }
  return { sources, targets };
}

/** The nodes as the workflow, the node types and the live run have them. */
function useBaseNodes(
  nodes: WorkflowNode[],
  edges: WorkflowEdge[],
  types: Record<string, NodeType> | undefined,
  liveNodes: Record<string, NodeLive>,
) {
  const cache = useRef(new Map<string, { node: NodeCardNode; key: string }>());
  return useMemo(() => {
    const positions = placeNodes(nodes, edges);
    const used = usedHandles(edges);
    const next = new Map<string, { node: NodeCardNode; key: string }>();
    const list = nodes.map((n) => {
      const type = types?.[n.component_type];
      const typeName = type?.display_name ?? n.component_type.replace(/^trigger_/, "");
      const position = positions.get(n.node_id) ?? { x: 0, y: 0 };
      const live = liveNodes[n.node_id];
      const handles = cardHandles(n, type, used.sources.get(n.node_id), used.targets.get(n.node_id));
      const key = handlesKey(handles);
      const old = cache.current.get(n.node_id);
      const entry =
        old && old.node.data.node === n && old.node.data.live === live && old.node.data.typeName === typeName &&
        old.key === key && old.node.position.x === position.x && old.node.position.y === position.y
          ? old
          : {
              key,
              node: {
                id: n.node_id,
                type: "pipelit" as const,
                position,
                // Drawn (and fitted) at once at about its size, before React Flow measures it.
                initialWidth: NODE_WIDTH,
                initialHeight: NODE_HEIGHT,
                data: { node: n, typeName, category: type?.category ?? "other", live, handles },
              },
            };
      next.set(n.node_id, entry);
      return entry;
    });
    cache.current = next;
    return list;
  }, [nodes, edges, types, liveNodes]);
}

/**
 * The nodes React Flow draws: the base nodes, moved where they are being dragged, marked
 * when selected, with their measurements when their handles are unchanged.
 */
export function useCanvasNodes(
  workflow: WorkflowDetail,
  types: Record<string, NodeType> | undefined,
  liveNodes: Record<string, NodeLive>,
  dragged: Map<string, XY>,
  selected: Set<string>,
  measurements: Measurements,
): NodeCardNode[] {
  const base = useBaseNodes(workflow.nodes, workflow.edges, types, liveNodes);
  const cache = useRef(new Map<string, { base: NodeCardNode; drawn: NodeCardNode }>());
  return useMemo(() => {
    const next = new Map<string, { base: NodeCardNode; drawn: NodeCardNode }>();
    const list = base.map(({ node, key }) => {
      const position = dragged.get(node.id) ?? node.position;
      const isSelected = selected.has(node.id);
      const old = cache.current.get(node.id);
      const drawn =
        old && old.base === node && old.drawn.position === position && !!old.drawn.selected === isSelected
          ? old.drawn
          : {
              ...node,
              position,
              selected: isSelected,
              measured: measurements.get(node.id, key),
            };
      measurements.drawn(node.id, key);
      next.set(node.id, { base: node, drawn });
      return drawn;
    });
    cache.current = next;
    return list;
  }, [base, dragged, selected, measurements]);
}
