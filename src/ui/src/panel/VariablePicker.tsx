// The values before the selected node, to put into the focused field: `{{ node.port }}`
// into a template, `node_outputs.node.port` into a rule's field.

import { useMemo } from "react";
import type { NodeType, WorkflowDetail } from "../api/types";
import { useInsertTarget } from "./insertTarget";
import { upstreamVariables } from "./upstream";

export function VariablePicker({ nodeId, workflow, types }: {
  nodeId: string;
  workflow: WorkflowDetail;
  types: Record<string, NodeType> | undefined;
}) {
  const target = useInsertTarget();
  const vars = useMemo(() => upstreamVariables(nodeId, workflow, types), [nodeId, workflow, types]);
  const path = target?.mode === "path";
  return (
    <details className="picker" open data-testid="variable-picker">
      <summary>Variables</summary>
      <p className="muted picker-hint">
        {target ? "Click one to insert it at the cursor." : "Click into a text field first, then on a variable."}
      </p>
      <ul>
        {vars.map((v) => {
          const text = path ? v.path : `{{ ${v.template} }}`;
          return (
            <li key={`${v.source}/${v.template}`}>
              <button type="button" className="picker-item mono" disabled={!target} title={`${v.source}${v.description ? `: ${v.description}` : ""}`}
                // Keeps the focus (and the caret) in the field.
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => target?.insert(text)}>
                {text}
              </button>
            </li>
          );
        })}
      </ul>
    </details>
  );
}
