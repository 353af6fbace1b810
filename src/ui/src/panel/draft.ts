// A node's settings as the config panel edits them, and the PATCH that saves what changed.

import type { NodeChange } from "../api/editing";
import type { WorkflowNode } from "../api/types";

export interface Draft {
  label: string;
  interrupt_before: boolean;
  interrupt_after: boolean;
  /** The config's own fields the panel shows (system_prompt, the model's, the trigger's). */
  config: Record<string, unknown>;
  /** extra_config: the type's settings. */
  extra: Record<string, unknown>;
}

export function draftOf(node: WorkflowNode): Draft {
  const { extra_config, ...config } = node.config;
  return {
    label: node.label ?? "",
    interrupt_before: node.interrupt_before,
    interrupt_after: node.interrupt_after,
    config: { ...config },
    extra: { ...(extra_config ?? {}) },
  };
}

// JSON with the keys of objects sorted: equal values give equal text.
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  return JSON.stringify(v ?? null);
}

const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** The PATCH body that makes node what draft says; null when nothing changed. */
export function draftChange(node: WorkflowNode, draft: Draft): NodeChange | null {
  const change: NodeChange = {};
  const label = draft.label.trim() || null;
  if (label !== (node.label || null)) change.label = label;
  if (draft.interrupt_before !== node.interrupt_before) change.interrupt_before = draft.interrupt_before;
  if (draft.interrupt_after !== node.interrupt_after) change.interrupt_after = draft.interrupt_after;
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(draft.config)) if (!same(v, node.config[k])) config[k] = v ?? null;
  // extra_config is replaced as a whole by a PATCH.
  if (!same(draft.extra, node.config.extra_config ?? {})) config.extra_config = draft.extra;
  if (Object.keys(config).length) change.config = config;
  return Object.keys(change).length ? change : null;
}

/** obj with key set to value, or without key when value is undefined. */
export function withValue(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const next = { ...obj };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}
