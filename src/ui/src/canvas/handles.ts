// The handles of a node card and what a connection between two of them means: flow in and
// out, attachments (a model, tools, skills, an output parser plugged into an AI node), a
// routing node's routes (switch rules, assertion pass/fail, …) and a loop's body and return.
// Edges name the handles they join; a connection dropped on two handles becomes the edge
// the API is asked for (and the API says when it does not fit).

import type { EdgeInput } from "../api/editing";
import type { NodeType, WorkflowEdge, WorkflowNode } from "../api/types";

export const FLOW_IN = "in";
export const FLOW_OUT = "out";
/** Top of a model, tool, skill or parser: plugged into an AI node's slot. */
export const ATTACH_OUT = "attach";
export const LOOP_BODY = "loop_body";
export const LOOP_RETURN = "loop_return";
const ROUTE = "route:";
export const FALLBACK_ROUTE = "__other__";

type RequiresFlag = "requires_model" | "requires_tools" | "requires_skills" | "requires_output_parser";

/** An AI node's attachment slots: the handle, the edge label it stands for, the type flag. */
export const ATTACH_SLOTS: { handle: string; edgeLabel: string; flag: RequiresFlag; title: string }[] = [
  { handle: "model", edgeLabel: "llm", flag: "requires_model", title: "model" },
  { handle: "tools", edgeLabel: "tool", flag: "requires_tools", title: "tools" },
  { handle: "skills", edgeLabel: "skill", flag: "requires_skills", title: "skills" },
  { handle: "output_parser", edgeLabel: "output_parser", flag: "requires_output_parser", title: "parser" },
];
const SLOT_OF_LABEL = new Map(ATTACH_SLOTS.map((s) => [s.edgeLabel, s]));
const SLOT_OF_HANDLE = new Map(ATTACH_SLOTS.map((s) => [s.handle, s]));

export const isAttachment = (edgeLabel: string) => SLOT_OF_LABEL.has(edgeLabel);
export const routeHandle = (route: string) => ROUTE + route;

export interface Route {
  id: string;
  label: string;
}

export interface CardHandles {
  flowIn: boolean;
  flowOut: boolean;
  attachOut: boolean;
  slots: { handle: string; title: string }[];
  routes: Route[];
  loop: boolean;
}

/** The handles an edge joins. */
export function edgeHandles(e: WorkflowEdge): { source: string; target: string } {
  const slot = SLOT_OF_LABEL.get(e.edge_label);
  if (slot) return { source: ATTACH_OUT, target: slot.handle };
  if (e.edge_label === LOOP_BODY) return { source: LOOP_BODY, target: FLOW_IN };
  if (e.edge_label === LOOP_RETURN) return { source: FLOW_OUT, target: LOOP_RETURN };
  if (e.edge_type === "conditional") return { source: routeHandle(e.condition_value ?? ""), target: FLOW_IN };
  return { source: FLOW_OUT, target: FLOW_IN };
}

/** The edge a connection from sourceHandle to targetHandle asks for. */
export function connectionEdge(
  source: string,
  sourceHandle: string | null | undefined,
  target: string,
  targetHandle: string | null | undefined,
): EdgeInput {
  const edge: EdgeInput = { source_node_id: source, target_node_id: target };
  const slot = SLOT_OF_HANDLE.get(targetHandle ?? "");
  if (slot) edge.edge_label = slot.edgeLabel;
  else if (targetHandle === LOOP_RETURN) edge.edge_label = LOOP_RETURN;
  else if (sourceHandle === LOOP_BODY) edge.edge_label = LOOP_BODY;
  else if (sourceHandle?.startsWith(ROUTE)) {
    edge.edge_type = "conditional";
    edge.condition_value = sourceHandle.slice(ROUTE.length);
  }
  return edge;
}

const str = (v: unknown) => (typeof v === "string" ? v : "");

/** The routes a routing node offers, from its settings. */
export function nodeRoutes(node: WorkflowNode): Route[] {
  const extra = node.config.extra_config ?? {};
  switch (node.component_type) {
    case "switch": {
      const rules = Array.isArray(extra.rules) ? (extra.rules as Record<string, unknown>[]) : [];
      const routes = rules
        .filter((r) => r && str(r.id))
        .map((r) => ({ id: str(r.id), label: str(r.label) || str(r.id) }));
      if (extra.enable_fallback === true) routes.push({ id: FALLBACK_ROUTE, label: "other" });
      return routes;
    }
    case "categorizer": {
      const categories = Array.isArray(extra.categories) ? (extra.categories as Record<string, unknown>[]) : [];
      const routes = categories.filter((c) => c && str(c.name)).map((c) => ({ id: str(c.name), label: str(c.name) }));
      return [...routes, { id: FALLBACK_ROUTE, label: "other" }];
    }
    case "assertion":
      return [
        { id: "pass", label: "pass" },
        { id: "fail", label: "fail" },
      ];
    case "human_confirmation":
      return [
        { id: "confirmed", label: "confirmed" },
        { id: "cancelled", label: "cancelled" },
      ];
  }
  return [];
}

// Nodes that send only along their routes.
const ROUTES_ONLY = new Set(["switch", "assertion"]);

/**
 * The handles of node's card: those of its type, and any its edges use beyond them (a route
 * whose rule is gone, an edge made through the API), so that every edge is drawn.
 */
export function cardHandles(
  node: WorkflowNode,
  type: NodeType | undefined,
  usedSources: Set<string> | undefined,
  usedTargets: Set<string> | undefined,
): CardHandles {
  const trigger = type ? type.category === "trigger" : node.component_type.startsWith("trigger_");
  const flowNode = !type || type.executable;
  const h: CardHandles = {
    flowIn: flowNode && !trigger,
    flowOut: (flowNode || trigger) && !ROUTES_ONLY.has(node.component_type),
    attachOut: !!type && !trigger && !type.executable,
    slots: ATTACH_SLOTS.filter((s) => type?.[s.flag]).map(({ handle, title }) => ({ handle, title })),
    routes: nodeRoutes(node),
    loop: node.component_type === "loop",
  };
  for (const handle of usedSources ?? []) {
    if (handle === FLOW_OUT) h.flowOut = true;
    else if (handle === ATTACH_OUT) h.attachOut = true;
    else if (handle === LOOP_BODY) h.loop = true;
    else if (handle.startsWith(ROUTE) && !h.routes.some((r) => routeHandle(r.id) === handle)) {
      const id = handle.slice(ROUTE.length);
      h.routes.push({ id, label: id === FALLBACK_ROUTE ? "other" : id });
    }
  }
  for (const handle of usedTargets ?? []) {
    if (handle === FLOW_IN) h.flowIn = true;
    else if (handle === LOOP_RETURN) h.loop = true;
    else if (!h.slots.some((s) => s.handle === handle)) {
      const slot = SLOT_OF_HANDLE.get(handle);
      if (slot) h.slots.push({ handle: slot.handle, title: slot.title });
    }
  }
  return h;
}

/** Equal handles give equal keys: a card whose key did not change keeps its measurements. */
export function handlesKey(h: CardHandles): string {
  return [
    +h.flowIn, +h.flowOut, +h.attachOut, +h.loop,
    h.slots.map((s) => s.handle).join(","),
    h.routes.map((r) => `${r.id}=${r.label}`).join("\u0001"),
  ].join("|");
}
