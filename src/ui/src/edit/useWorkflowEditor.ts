// The workflow page's editor: its operations, its undo history, and the last error an edit
// got from the server (shown until the next edit).

import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo, useState, useSyncExternalStore } from "react";
import { workflowEditing } from "../api/editing";
import { createEditor, type Editor } from "./operations";
import { UndoHistory, type UndoStep } from "./undo";

export interface WorkflowEditor {
  editor: Editor;
  /** Runs an edit; its error (the server's reason) is kept for the page to show. */
  run: <T>(edit: (editor: Editor) => Promise<T>) => Promise<T | undefined>;
  error: unknown;
  clearError: () => void;
  lastStep: UndoStep | undefined;
  undoBusy: boolean;
  undo: () => void;
}

export function useWorkflowEditor(slug: string): WorkflowEditor {
  const qc = useQueryClient();
  // The page is mounted anew for another workflow: the history is the page's.
  const [history] = useState(() => new UndoHistory());
  const editor = useMemo(() => createEditor(workflowEditing(qc, slug), history), [qc, slug, history]);
  const [error, setError] = useState<unknown>(null);

  const lastStep = useSyncExternalStore(
    (l) => history.subscribe(l),
    () => history.last(),
  );
  const undoBusy = useSyncExternalStore(
    (l) => history.subscribe(l),
    () => history.busy(),
  );

  const run = useCallback(
    async <T,>(edit: (editor: Editor) => Promise<T>): Promise<T | undefined> => {
      setError(null);
      try {
        return await edit(editor);
      } catch (e) {
        setError(e);
        return undefined;
      }
    },
    [editor],
  );
  const undo = useCallback(() => void run((e) => e.undo()), [run]);
  const clearError = useCallback(() => setError(null), []);

  return { editor, run, error, clearError, lastStep, undoBusy, undo };
}
