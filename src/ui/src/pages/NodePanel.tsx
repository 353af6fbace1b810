// The side panel of the node clicked on the canvas: what it is, how it is set up, and its
// last output or error.

import type { NodeLive } from "../api/live";
import type { WorkflowNode } from "../api/types";
import { formatDuration } from "../components/format";
import { JsonView } from "../components/JsonView";
import { StatusBadge } from "../components/StatusBadge";

export function NodePanel({ node, live, onClose }: { node: WorkflowNode; live: NodeLive | undefined; onClose: () => void }) {
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
        <dd className="mono">{node.component_type}</dd>
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
      {node.config.extra_config && Object.keys(node.config.extra_config).length > 0 && (
        <JsonView label="Settings" value={node.config.extra_config} />
      )}
    </aside>
  );
}
