// The side panel of the node clicked on the canvas: what it is, its last output or error,
// how a trigger starts the workflow, and its settings with the variables it may read.

import type { NodeLive } from "../api/live";
import type { NodeType, WorkflowDetail, WorkflowNode } from "../api/types";
import { formatDuration } from "../components/format";
import { JsonView } from "../components/JsonView";
import { StatusBadge } from "../components/StatusBadge";
import type { WorkflowEditor } from "../edit/useWorkflowEditor";
import { ConfigForm } from "../panel/ConfigForm";
import { InsertTargetProvider } from "../panel/insertTarget";
import { TriggerRun } from "../panel/TriggerRun";
import { VariablePicker } from "../panel/VariablePicker";

interface Props {
  node: WorkflowNode;
  live: NodeLive | undefined;
  workflow: WorkflowDetail;
  types: Record<string, NodeType> | undefined;
  edit: WorkflowEditor;
  onClose: () => void;
}

export function NodePanel({ node, live, workflow, types, edit, onClose }: Props) {
  const type = types?.[node.component_type];
  return (
    <aside className="side-panel" aria-label={`Node ${node.node_id}`} data-testid="node-panel">
      <div className="panel-head">
        <h2>{node.label || node.node_id}</h2>
        <button type="button" className="ghost" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
      <dl className="facts">
        <dt>Node</dt>
        <dd className="mono">{node.node_id}</dd>
        <dt>Type</dt>
        <dd className="mono" title={type?.description}>
          {node.component_type}
        </dd>
        {live && (
          <>
            <dt>Status</dt>
            <dd>
              <StatusBadge status={live.status} />
            </dd>
            {live.duration_ms !== undefined && (
              <>
                <dt>Duration</dt>
                <dd>{formatDuration(live.duration_ms)}</dd>
              </>
            )}
          </>
        )}
      </dl>
      {live?.error && (
        <div className="error-note" role="alert">
          {live.error}
          {live.error_code && <span className="mono"> ({live.error_code})</span>}
        </div>
      )}
      {live?.output !== undefined && <JsonView label="Output" value={live.output} />}
      <TriggerRun slug={workflow.slug} node={node} />
      <InsertTargetProvider>
        <ConfigForm key={node.node_id} node={node} type={type} edit={edit} />
        {type?.category !== "trigger" && <VariablePicker nodeId={node.node_id} workflow={workflow} types={types} />}
      </InsertTargetProvider>
    </aside>
  );
}
