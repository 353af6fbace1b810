// Over the canvas: undo of the last edit, and why the server refused an edit.

import { Panel } from "@xyflow/react";
import type { WorkflowEditor } from "../edit/useWorkflowEditor";

export function EditBar({ edit }: { edit: WorkflowEditor }) {
  const { lastStep, undoBusy, undo, error, clearError } = edit;
  const message = error ? (error instanceof Error ? error.message : String(error)) : null;
  return (
    <Panel position="top-left" className="edit-bar">
      <button type="button" onClick={undo} disabled={!lastStep || undoBusy} data-testid="undo"
        title={lastStep ? `Undo ${lastStep.label} (Ctrl+Z)` : "Nothing to undo"}>
        ↶ Undo{lastStep ? ` ${lastStep.label}` : ""}
      </button>
      {message && (
        <div className="edit-error" role="alert" data-testid="edit-error">
          <span>{message}</span>
          <button type="button" className="ghost" aria-label="Dismiss" onClick={clearError}>
            ✕
          </button>
        </div>
      )}
    </Panel>
  );
}
