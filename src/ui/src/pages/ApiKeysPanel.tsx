// One account's API keys: the list (revoked ones too), creating one — its key shown once,
// right after — and revoking. The key this browser logged in with is marked: revoking it
// ends the session.

import { useState, type FormEvent } from "react";
import { sessionKey } from "../auth/session";
import { useApiKeys, useCreateApiKey, useRevokeApiKey, type ApiKey, type KeyOwner, type NewApiKey } from "../api/users";
import { ErrorNote } from "../components/ErrorNote";
import { formatTime } from "../components/format";

export function ApiKeysPanel({ owner, mine }: { owner: KeyOwner; mine: boolean }) {
  const list = useApiKeys(owner);
  const create = useCreateApiKey(owner);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<NewApiKey | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(name.trim(), {
      onSuccess: (key) => {
        setCreated(key);
        setName("");
      },
    });
  };

  return (
    <div className="api-keys" data-testid="api-keys">
      <form className="inline-form" onSubmit={submit} aria-label="New API key">
        <input name="key-name" aria-label="Key name" placeholder="New key name" maxLength={100} required value={name}
          onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="primary" disabled={create.isPending || !name.trim()}>Create key</button>
      </form>
      <ErrorNote error={create.error ?? list.error} />
      {created && <NewKeyNote created={created} onDismiss={() => setCreated(null)} />}
      {list.data && list.data.length === 0 && <p className="muted">No API keys.</p>}
      {list.data && list.data.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Created</th>
              <th>Last used</th>
              <th>Expires</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.map((k) => (
              <KeyRow key={k.id} apiKey={k} owner={owner} mine={mine} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function NewKeyNote({ created, onDismiss }: { created: NewApiKey; onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  const copy = () => navigator.clipboard.writeText(created.key).then(() => setCopied(true), () => setCopied(false));
  return (
    <div className="new-key" role="status" data-testid="new-key">
      <p>
        The key <strong>{created.name}</strong>: copy it now, it is not shown again.
      </p>
      <div className="inline-fields">
        <code className="mono" data-testid="new-key-value">{created.key}</code>
        {/* The clipboard is there only on https or localhost. */}
        {navigator.clipboard && <button type="button" onClick={copy}>{copied ? "Copied" : "Copy"}</button>}
        <button type="button" onClick={onDismiss}>Done</button>
      </div>
    </div>
  );
}

function KeyRow({ apiKey: k, owner, mine }: { apiKey: ApiKey; owner: KeyOwner; mine: boolean }) {
  const revoke = useRevokeApiKey(owner);
  const [confirm, setConfirm] = useState(false);
  const thisSession = mine && k.is_active && (sessionKey() ?? "").startsWith(k.prefix);
  return (
    <tr data-key-id={k.id} data-name={k.name} data-active={k.is_active}>
      <td>
        {k.name}
        {thisSession && <span className="muted"> (this browser)</span>}
        <ErrorNote error={revoke.error} />
      </td>
      <td className="mono">{k.prefix}…</td>
      <td>{formatTime(k.created_at)}</td>
      <td>{formatTime(k.last_used_at)}</td>
      <td>{k.expires_at ? formatTime(k.expires_at) : "never"}</td>
      <td>
        <span className={k.is_active ? "badge badge-ok" : "badge badge-muted"}>{k.is_active ? "active" : "revoked"}</span>
      </td>
      <td>
        {k.is_active && (
          <div className="actions">
            {confirm ? (
              <>
                <button type="button" className="danger" disabled={revoke.isPending} onClick={() => revoke.mutate(k.id)}>
                  {thisSession ? "Revoke and log out" : "Revoke for good"}
                </button>
                <button type="button" onClick={() => setConfirm(false)}>Keep</button>
              </>
            ) : (
              <button type="button" onClick={() => setConfirm(true)}>Revoke</button>
            )}
          </div>
        )}
      </td>
    </tr>
  );
}
