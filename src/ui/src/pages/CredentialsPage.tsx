// Credentials: the list (secrets as the server masked them), adding one, testing it against
// its service, an LLM provider's models, deleting.

import { useState } from "react";
import {
  useCredentialList,
  useCredentialModels,
  useDeleteCredential,
  useTestCredential,
  type Credential,
} from "../api/credentials";
import { ErrorNote } from "../components/ErrorNote";
import { formatTime } from "../components/format";
import { Pager } from "../components/Pager";
import { CredentialForm, KIND_LABEL } from "./CredentialForm";

const PAGE_SIZE = 50;
const SECRET_FIELDS = ["api_key", "bot_token", "access_token", "ssh_private_key", "webhook_secret"];
const PROVIDER_LABEL: Record<string, string> = {
  openai: "OpenAI",
  anthropic: "Anthropic",
  openai_compatible: "OpenAI-compatible",
};

export function CredentialsPage() {
  const [offset, setOffset] = useState(0);
  const [adding, setAdding] = useState(false);
  const list = useCredentialList(offset, PAGE_SIZE);

  return (
    <section>
      <div className="page-head">
        <h1>Credentials</h1>
        <span className="spacer" />
        {!adding && (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add credential
          </button>
        )}
      </div>
      {adding && <CredentialForm onDone={() => setAdding(false)} />}
      <ErrorNote error={list.error} />
      {list.data && list.data.items.length === 0 && <p className="muted">No credentials yet.</p>}
      {list.data && list.data.items.length > 0 && (
        <table className="table" data-testid="credential-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Where</th>
              <th>Secrets</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((c) => (
              <CredentialRow key={c.id} credential={c} />
            ))}
          </tbody>
        </table>
      )}
      <Pager offset={offset} limit={PAGE_SIZE} total={list.data?.total ?? 0} onChange={setOffset} />
    </section>
  );
}

function kindText(c: Credential): string {
  const d = c.detail;
  if (c.credential_type === "llm") return `${KIND_LABEL.llm}: ${PROVIDER_LABEL[String(d.provider_type)] ?? d.provider_type}`;
  if (c.credential_type === "git") return `${KIND_LABEL.git} (${d.credential_type === "ssh_key" ? "SSH key" : "token"})`;
  if (c.credential_type === "tool" && d.is_preferred) return `${KIND_LABEL.tool}, preferred`;
  return KIND_LABEL[c.credential_type] ?? c.credential_type;
}

function whereText(c: Credential): string {
  const d = c.detail;
  const config = d.config as { url?: string } | null | undefined;
  return String(d.base_url ?? d.url ?? config?.url ?? "default");
}

function CredentialRow({ credential: c }: { credential: Credential }) {
  const test = useTestCredential();
  const remove = useDeleteCredential();
  const [showModels, setShowModels] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const secrets = SECRET_FIELDS.filter((f) => typeof c.detail[f] === "string");
  const result = test.data;

  return (
    <>
      <tr data-credential-id={c.id} data-name={c.name}>
        <td>
          {c.name}
          {result && (
            <p className={result.ok ? "test-result ok" : "test-result bad"} data-testid="test-result" data-ok={result.ok}>
              {result.ok ? "✓ " : "✕ "}
              {[result.error, result.detail].filter(Boolean).join(": ")}
            </p>
          )}
          <ErrorNote error={test.error ?? remove.error} />
        </td>
        <td>{kindText(c)}</td>
        <td className="mono">{whereText(c)}</td>
        <td className="mono" data-testid="secrets">
          {secrets.length === 0 ? "—" : secrets.map((f) => <div key={f} className="nowrap">{`${f}: ${c.detail[f]}`}</div>)}
        </td>
        <td>{formatTime(c.created_at)}</td>
        <td>
          <div className="actions">
            <button type="button" disabled={test.isPending} onClick={() => test.mutate(c.id)}>
              {test.isPending ? "Testing…" : "Test"}
            </button>
            {c.credential_type === "llm" && (
              <button type="button" aria-expanded={showModels} onClick={() => setShowModels(!showModels)}>
                Models
              </button>
            )}
            {confirmDelete ? (
              <>
                <button type="button" className="danger" disabled={remove.isPending} onClick={() => remove.mutate(c.id)}>
                  Delete for good
                </button>
                <button type="button" onClick={() => setConfirmDelete(false)}>Keep</button>
              </>
            ) : (
              <button type="button" onClick={() => setConfirmDelete(true)}>Delete</button>
            )}
          </div>
        </td>
      </tr>
      {showModels && (
        <tr className="detail-row">
          <td colSpan={6}>
            <ModelList id={c.id} />
          </td>
        </tr>
      )}
    </>
  );
}

function ModelList({ id }: { id: number }) {
  const models = useCredentialModels(id, true);
  if (models.isPending) return <p className="muted">Asking the provider…</p>;
  if (models.error) return <ErrorNote error={models.error} />;
  if (models.data.length === 0) return <p className="muted">The provider lists no models.</p>;
  return (
    <ul className="model-list" data-testid="model-list">
      {models.data.map((m) => (
        <li key={m.id} className="mono" title={m.name}>
          {m.id}
          {m.name !== m.id && <span className="muted"> — {m.name}</span>}
        </li>
      ))}
    </ul>
  );
}
