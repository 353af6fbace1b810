// The values a node's templates can read: the output ports of the nodes before it (found
// backwards along flow edges), the trigger's as `trigger.*`, and a loop's item inside its
// body.

import type { NodeType, WorkflowDetail } from "../api/types";

export interface Variable {
  /** Who gives it, e.g. "Switch (switch_1)". */
  source: string;
  /** `node.port` as a template reads it. */
  template: string;
  /** The same as a rule's dotted path into the run state. */
  path: string;
  description: string;
}

const FLOW_LABELS = new Set(["", "loop_body"]);
const DEFAULT_TRIGGER_PORTS = ["text", "payload"];

export function upstreamVariables(nodeId: string, workflow: WorkflowDetail, types: Record<string, NodeType> | undefined): Variable[] {
  const parents = new Map<string, { source: string; label: string }[]>();
  for (const e of workflow.edges) {
    if (!FLOW_LABELS.has(e.edge_label)) continue;
    if (!parents.has(e.target_node_id)) parents.set(e.target_node_id, []);
    parents.get(e.target_node_id)!.push({ source: e.source_node_id, label: e.edge_label });
  }
  // Breadth first, nearest first.
  const seen = new Set([nodeId]);
  const order: string[] = [];
  let inLoop = false;
  for (let queue = [nodeId]; queue.length; ) {
    const next: string[] = [];
    for (const id of queue)
      for (const p of parents.get(id) ?? []) {
        if (p.label === "loop_body") inLoop = true;
        if (seen.has(p.source)) continue;
        seen.add(p.source);
        order.push(p.source);
        next.push(p.source);
      }
    queue = next;
  }

  const byId = new Map(workflow.nodes.map((n) => [n.node_id, n]));
  const vars: Variable[] = [];
  const triggerPorts = new Map<string, string>();
  for (const id of order) {
    const node = byId.get(id);
    if (!node) continue;
    const type = types?.[node.component_type];
    const source = `${node.label || type?.display_name || node.component_type} (${id})`;
    for (const port of type?.outputs ?? []) {
      // A trigger's values are offered as trigger.* (the same values).
      if (type?.category === "trigger") {
        if (!triggerPorts.has(port.name)) triggerPorts.set(port.name, port.description);
        continue;
      }
      vars.push({ source, template: `${id}.${port.name}`, path: `node_outputs.${id}.${port.name}`, description: port.description });
    }
  }
  if (triggerPorts.size === 0) for (const p of DEFAULT_TRIGGER_PORTS) triggerPorts.set(p, "");
  const trigger = [...triggerPorts].map(([port, description]) => ({
    source: "Trigger", template: `trigger.${port}`, path: `trigger.${port}`, description,
  }));
  const loop = inLoop
    ? ["item", "index", "total"].map((k) => ({ source: "Loop", template: `loop.${k}`, path: `loop.${k}`, description: "" }))
    : [];
  return [...trigger, ...loop, ...vars];
}
