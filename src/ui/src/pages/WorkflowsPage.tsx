// The workflows dashboard: list, create, rename, activate, delete, import and export.
// Each listed workflow's channel is followed, so changes from other tabs show at once.

import { useRef, useState, type ChangeEvent, type FormEvent } from "react";
import type { Workflow } from "../api/types";
import {
  exportWorkflow,
  useCreateWorkflow,
  useDeleteWorkflow,
  useImportWorkflow,
  useUpdateWorkflow,
  useWorkflowList,
} from "../api/workflows";
import { ErrorNote } from "../components/ErrorNote";
import { formatTime } from "../components/format";
import { Link, navigate } from "../router";
import { useChannel } from "../ws/hooks";

const PAGE_SIZE = 50;

export function WorkflowsPage() {
  const [offset, setOffset] = useState(0);
  const list = useWorkflowList(offset, PAGE_SIZE);
  const total = list.data?.total ?? 0;

  return (
    <section>
      <div className="page-head">
        <h1>Workflows</h1>
        <span className="spacer" />
        <ImportButton />
      </div>
      <CreateWorkflowForm />
      <ErrorNote error={list.error} />
      {list.data && list.data.items.length === 0 && <p className="muted">No workflows yet: create one above.</p>}
      {list.data && list.data.items.length > 0 && (
        <table className="table" data-testid="workflow-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Slug</th>
              <th className="num">Nodes</th>
              <th className="num">Edges</th>
              <th>Active</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((w) => (
              <WorkflowRow key={w.id} workflow={w} />
            ))}
          </tbody>
        </table>
      )}
      {total > PAGE_SIZE && (
        <div className="pager">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
            Previous
          </button>
          <span>
            {offset + 1}–{Math.min(offset + PAGE_SIZE, total)} of {total}
          </span>
          <button type="button" disabled={offset + PAGE_SIZE >= total} onClick={() => setOffset(offset + PAGE_SIZE)}>
            Next
          </button>
        </div>
      )}
    </section>
  );
}

function CreateWorkflowForm() {
  const [name, setName] = useState("");
  const create = useCreateWorkflow();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name: name.trim() }, { onSuccess: () => setName("") });
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label="New workflow">
      <input name="name" placeholder="New workflow name" value={name} maxLength={255}
        onChange={(e) => setName(e.target.value)} required />
      <button type="submit" className="primary" disabled={create.isPending || !name.trim()}>
        Create
      </button>
      <ErrorNote error={create.error} />
    </form>
  );
}

function ImportButton() {
  const input = useRef<HTMLInputElement>(null);
  const importer = useImportWorkflow();
  const [parseError, setParseError] = useState<string | null>(null);
  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (!file) return;
    setParseError(null);
    let document: unknown;
    try {
      document = JSON.parse(await file.text());
    } catch {
      setParseError(`${file.name} is not JSON.`);
      return;
    }
    importer.mutate(document, { onSuccess: (w) => navigate(`/workflows/${encodeURIComponent(w.slug)}`) });
  };
  return (
    <span className="import">
      <input ref={input} type="file" accept="application/json,.json" hidden onChange={onFile}
        data-testid="import-file" />
      <button type="button" onClick={() => input.current?.click()} disabled={importer.isPending}>
        Import JSON
      </button>
      <ErrorNote error={parseError ?? importer.error} />
    </span>
  );
}

async function download(slug: string) {
  const document = await exportWorkflow(slug);
  const blob = new Blob([JSON.stringify(document, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = Object.assign(window.document.createElement("a"), { href: url, download: `${slug}.json` });
  a.click();
  // After the browser took the file.
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function WorkflowRow({ workflow: w }: { workflow: Workflow }) {
  useChannel(`workflow:${w.slug}`);
  const update = useUpdateWorkflow();
  const remove = useDeleteWorkflow();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(w.name);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [exportError, setExportError] = useState<unknown>(null);

  const rename = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim() === w.name) return setEditing(false);
    update.mutate({ slug: w.slug, fields: { name: name.trim() } }, { onSuccess: () => setEditing(false) });
  };

  return (
    <tr data-slug={w.slug}>
      <td>
        {editing ? (
          <form className="rename" onSubmit={rename}>
            <input aria-label="Name" value={name} autoFocus maxLength={255} onChange={(e) => setName(e.target.value)}
              onKeyDown={(e) => e.key === "Escape" && setEditing(false)} />
            <button type="submit" disabled={update.isPending}>Save</button>
          </form>
        ) : (
          <Link to={`/workflows/${encodeURIComponent(w.slug)}`} className="workflow-name">
            {w.name}
          </Link>
        )}
        <ErrorNote error={update.error ?? remove.error ?? exportError} />
      </td>
      <td className="mono">{w.slug}</td>
      <td className="num">{w.node_count}</td>
      <td className="num">{w.edge_count}</td>
      <td>
        <label className="switch">
          <input type="checkbox" checked={w.is_active} aria-label={`Active: ${w.name}`}
            onChange={(e) => update.mutate({ slug: w.slug, fields: { is_active: e.target.checked } })} />
          {w.is_active ? "active" : "inactive"}
        </label>
      </td>
      <td>{formatTime(w.created_at)}</td>
      <td>
        <div className="actions">
        <button type="button" onClick={() => { setName(w.name); setEditing(true); }}>Rename</button>
        <button type="button" onClick={() => download(w.slug).catch(setExportError)}>Export</button>
        <Link to={`/executions?workflow=${encodeURIComponent(w.slug)}`}>Runs</Link>
        {confirmDelete ? (
          <>
            <button type="button" className="danger" onClick={() => remove.mutate(w.slug)}>Delete for good</button>
            <button type="button" onClick={() => setConfirmDelete(false)}>Keep</button>
          </>
        ) : (
          <button type="button" onClick={() => setConfirmDelete(true)}>Delete</button>
        )}
        </div>
      </td>
    </tr>
  );
}
