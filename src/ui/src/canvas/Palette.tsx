// The node types the server knows (GET /workflows/node-types/), grouped by category, to be
// dragged onto the canvas. A filter narrows the list by name.

import { memo, useMemo, useState, type DragEvent } from "react";
import type { NodeType } from "../api/types";

/** The drag's data type: a component type dropped on the canvas becomes a node. */
export const PALETTE_MIME = "application/x-pipelit-node-type";

const CATEGORY_NAMES: Record<string, string> = {
  trigger: "Triggers",
  ai: "AI",
  sub_component: "Models and tools",
  agent: "Agent tools",
  memory: "Memory",
  logic: "Logic",
  flow: "Flow",
  output: "Output",
};
// Categories in this order; others after them, by name.
const ORDER = ["trigger", "ai", "logic", "flow", "output", "memory", "sub_component", "agent"];

function groups(types: Record<string, NodeType>, filter: string) {
  const needle = filter.trim().toLowerCase();
  const byCategory = new Map<string, NodeType[]>();
  for (const t of Object.values(types)) {
    if (needle && !`${t.display_name} ${t.component_type}`.toLowerCase().includes(needle)) continue;
    if (!byCategory.has(t.category)) byCategory.set(t.category, []);
    byCategory.get(t.category)!.push(t);
  }
  const rank = (c: string) => (ORDER.includes(c) ? ORDER.indexOf(c) : ORDER.length);
  return [...byCategory.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([category, list]) => ({ category, list: list.sort((a, b) => a.display_name.localeCompare(b.display_name)) }));
}

function onDragStart(event: DragEvent, type: string) {
  event.dataTransfer.setData(PALETTE_MIME, type);
  event.dataTransfer.effectAllowed = "copy";
}

function PaletteView({ types }: { types: Record<string, NodeType> }) {
  const [filter, setFilter] = useState("");
  const shown = useMemo(() => groups(types, filter), [types, filter]);
  return (
    <aside className="palette" aria-label="Node types" data-testid="palette">
      <input type="search" placeholder="Filter" aria-label="Filter node types" value={filter}
        onChange={(e) => setFilter(e.target.value)} />
      {shown.map(({ category, list }) => (
        <section key={category} className="palette-group">
          <h3>{CATEGORY_NAMES[category] ?? category}</h3>
          {list.map((t) => {
            const unfinished = t.executable && !t.implemented;
            return (
              <div key={t.component_type} className={`palette-item category-${t.category}${unfinished ? " unfinished" : ""}`}
                draggable onDragStart={(e) => onDragStart(e, t.component_type)}
                data-testid="palette-item" data-type={t.component_type}
                title={`${t.description}${unfinished ? " (this build cannot run it yet)" : ""}\nDrag onto the canvas.`}>
                {t.display_name}
              </div>
            );
          })}
        </section>
      ))}
      {shown.length === 0 && <p className="muted">No type matches.</p>}
    </aside>
  );
}

export const Palette = memo(PaletteView);
