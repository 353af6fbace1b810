// One workflow, as an editor: the palette of node types, the canvas with live node
// statuses, the selected node's panel, the chat with a chat-triggered workflow; renaming,
// activating and running it.

import { useQuery } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { keys } from "../api/keys";
import { emptyLiveRun, fetchLiveRun, type LiveRun } from "../api/live";
import type { WorkflowDetail } from "../api/types";
import { useNodeTypes, useRunWorkflow, useUpdateWorkflow, useWorkflow } from "../api/workflows";
import "../canvas/editor.css";
import { Palette } from "../canvas/Palette";
import { WorkflowCanvas } from "../canvas/WorkflowCanvas";
import { ChatPanel } from "../chat/ChatPanel";
import { useChat } from "../chat/useChat";
import { ErrorNote } from "../components/ErrorNote";
import { StatusBadge } from "../components/StatusBadge";
import { useWorkflowEditor } from "../edit/useWorkflowEditor";
import { Link, navigate } from "../router";
import { useTheme } from "../theme/theme";
import { useChannel } from "../ws/hooks";
import { wsManager } from "../ws/manager";
import { NodePanel } from "./NodePanel";

function useLiveRun(slug: string): LiveRun {
  const { data } = useQuery({
    queryKey: keys.live(slug),
    queryFn: () => fetchLiveRun(slug),
    // Events keep it current (api/live.ts); read again only after a reconnect.
    staleTime: Infinity,
  });
  return data ?? emptyLiveRun;
}

/** Follows the workflow when its slug changes; says when it was deleted. */
function useFollowSlug(slug: string): boolean {
  const [deleted, setDeleted] = useState(false);
  useEffect(() => {
    setDeleted(false);
    return wsManager.onEvent((e) => {
      if (e.channel !== `workflow:${slug}`) return;
      if (e.type === "workflow_updated" && typeof e.data?.slug === "string" && e.data.slug !== slug)
        navigate(`/workflows/${encodeURIComponent(e.data.slug)}`, { replace: true });
      else if (e.type === "workflow_deleted") setDeleted(true);
    });
  }, [slug]);
  return deleted;
}

export function WorkflowPage({ slug }: { slug: string }) {
  const subscribed = useChannel(`workflow:${slug}`);
  const deleted = useFollowSlug(slug);
  const workflow = useWorkflow(slug);
  const types = useNodeTypes();
  const live = useLiveRun(slug);
  const { theme } = useTheme();
  const edit = useWorkflowEditor(slug);
  const chat = useChat(slug);
  const [selected, setSelected] = useState<string | null>(null);
  const [chatOpen, setChatOpen] = useState(false);

  if (deleted)
    return (
      <p className="muted">
        This workflow was deleted. <Link to="/">Back to the workflows</Link>
      </p>
    );
  if (workflow.error instanceof ApiError && workflow.error.status === 404)
    return (
      <p className="muted">
        No workflow “{slug}”. <Link to="/">Back to the workflows</Link>
      </p>
    );
  if (!workflow.data) return <ErrorNote error={workflow.error} />;
  // The canvas waits for the node types (fetched alongside), so that it draws once.
  if (types.isPending) return null;

  const node = workflow.data.nodes.find((n) => n.node_id === selected);
  const hasChat = workflow.data.nodes.some((n) => n.component_type === "trigger_chat");
  return (
    <section className="workflow-page" data-live={subscribed ? "subscribed" : "pending"}>
      <WorkflowHeader workflow={workflow.data} live={live} chat={hasChat ? { open: chatOpen, toggle: () => setChatOpen((o) => !o) } : null} />
      <div className="canvas-area">
        {types.data && <Palette types={types.data} />}
        <div className="canvas" data-testid="canvas" data-node-count={workflow.data.nodes.length}>
          <WorkflowCanvas workflow={workflow.data} types={types.data} live={live} theme={theme} edit={edit} onSelect={setSelected} />
          {workflow.data.nodes.length === 0 && <p className="canvas-empty muted">No nodes yet. Drag one here from the list on the left.</p>}
        </div>
        {(node || (hasChat && chatOpen)) && (
          <div className="side-column">
            {node && (
              <NodePanel node={node} live={live.nodes[node.node_id]} workflow={workflow.data} types={types.data} edit={edit}
                onClose={() => setSelected(null)} />
            )}
            {hasChat && chatOpen && <ChatPanel chat={chat} onClose={() => setChatOpen(false)} />}
          </div>
        )}
      </div>
    </section>
  );
}

function WorkflowHeader({ workflow, live, chat }: {
  workflow: WorkflowDetail;
  live: LiveRun;
  chat: { open: boolean; toggle: () => void } | null;
}) {
  const update = useUpdateWorkflow();
  const run = useRunWorkflow();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(workflow.name);
  const manual = workflow.nodes.some((n) => n.component_type === "trigger_manual");

  const rename = (e: FormEvent) => {
    e.preventDefault();
    update.mutate({ slug: workflow.slug, fields: { name: name.trim() } }, { onSuccess: () => setEditing(false) });
  };

  return (
    <div className="page-head">
      {editing ? (
        <form className="rename" onSubmit={rename}>
          <input aria-label="Name" value={name} autoFocus maxLength={255} onChange={(e) => setName(e.target.value)}
            onKeyDown={(e) => e.key === "Escape" && setEditing(false)} />
          <button type="submit" disabled={update.isPending}>Save</button>
        </form>
      ) : (
        <h1 data-testid="workflow-name" title={workflow.description ?? undefined}>
          {workflow.name}
        </h1>
      )}
      {!editing && (
        <button type="button" className="ghost" onClick={() => { setName(workflow.name); setEditing(true); }}>
          Rename
        </button>
      )}
      <span className="mono muted">{workflow.slug}</span>
      <label className="switch">
        <input type="checkbox" checked={workflow.is_active}
          onChange={(e) => update.mutate({ slug: workflow.slug, fields: { is_active: e.target.checked } })} />
        {workflow.is_active ? "active" : "inactive"}
      </label>
      <span className="spacer" />
      {live.execution_id && (
        <span className="live-run" data-testid="live-run">
          <Link to={`/executions/${live.execution_id}`}>Last run</Link>
          {live.status && <StatusBadge status={live.status} />}
        </span>
      )}
      {chat && (
        <button type="button" aria-pressed={chat.open} onClick={chat.toggle}>
          Chat
        </button>
      )}
      <button type="button" className="primary" disabled={run.isPending || !workflow.is_active || !manual}
        title={!workflow.is_active ? "Activate the workflow to run it" : manual ? "Run from the manual trigger" : "Add a manual trigger to run it from here"}
        onClick={() => run.mutate({ slug: workflow.slug })}>
        Run
      </button>
      <ErrorNote error={update.error ?? run.error} />
    </div>
  );
}
