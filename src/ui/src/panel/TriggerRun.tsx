// How a trigger starts the workflow, in its panel: a manual trigger runs with a text from
// here (POST /workflows/{slug}/execute/ naming it), a webhook shows the URL that fires it.

import { useState, type FormEvent } from "react";
import type { WorkflowNode } from "../api/types";
import { useRunWorkflow } from "../api/workflows";
import { ErrorNote } from "../components/ErrorNote";

export function TriggerRun({ slug, node }: { slug: string; node: WorkflowNode }) {
  const run = useRunWorkflow();
  const [text, setText] = useState("");
  if (node.component_type === "trigger_webhook") {
    const path = String(node.config.extra_config?.path ?? "").replace(/^\/+|\/+$/g, "");
    if (!path) return <p className="muted">Give the webhook a path to get its URL.</p>;
    const url = `${window.location.origin}/api/v1/webhooks/${encodeURIComponent(slug)}/${path}/`;
    return (
      <p className="trigger-url">
        <span className="muted">POST or GET </span>
        <span className="mono" data-testid="webhook-url">{url}</span>
      </p>
    );
  }
  if (node.component_type !== "trigger_manual") return null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    run.mutate({ slug, text, triggerNodeId: node.node_id });
  };
  return (
    <form className="trigger-run" onSubmit={submit}>
      <input aria-label="Run with text" placeholder="Text for trigger.text" value={text} onChange={(e) => setText(e.target.value)} />
      <button type="submit" className="primary" disabled={run.isPending}>
        Run from here
      </button>
      <ErrorNote error={run.error} />
    </form>
  );
}
