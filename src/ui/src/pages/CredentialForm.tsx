// Adding a credential: the fields of the kind chosen, as the server takes them in `detail`.
// Empty fields are left out (the server's defaults apply); secrets go in password fields.

import { useState, type FormEvent, type ReactNode } from "react";
import { useCreateCredential, type CredentialType } from "../api/credentials";
import { ErrorNote } from "../components/ErrorNote";

export const KIND_LABEL: Record<CredentialType, string> = {
  llm: "LLM provider",
  telegram: "Telegram bot",
  tool: "SearXNG search",
  git: "Git",
};

const PROVIDERS = [
  { value: "openai", label: "OpenAI" },
  { value: "anthropic", label: "Anthropic" },
  { value: "openai_compatible", label: "OpenAI-compatible" },
];

const BASE_URL_HINT: Record<string, string> = {
  openai: "https://api.openai.com/v1 (default)",
  anthropic: "https://api.anthropic.com (default)",
  openai_compatible: "http://localhost:11434/v1",
};

type Fields = Record<string, string>;

/** "Name: value" lines into {name: value}; a line without a colon is an error. */
function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`Header line "${line}" is not "Name: value".`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** The `detail` object for the kind, without empty fields. */
function buildDetail(kind: CredentialType, f: Fields, preferred: boolean): Record<string, unknown> {
  const pick = (...names: string[]) =>
    Object.fromEntries(names.filter((n) => f[n]?.trim()).map((n) => [n, f[n].trim()]));
  switch (kind) {
    case "llm": {
      const provider = f.provider_type || "openai";
      // Anthropic has no organization: a value typed for another provider stays behind.
      const detail: Record<string, unknown> = { provider_type: provider,
        ...pick("api_key", "base_url", ...(provider === "anthropic" ? [] : ["organization_id"])) };
      if (f.custom_headers?.trim()) detail.custom_headers = parseHeaders(f.custom_headers);
      return detail;
    }
    case "telegram":
      return pick("bot_token", "base_url");
    case "tool":
      return { tool_type: "searxng", config: { url: f.url?.trim() ?? "" }, is_preferred: preferred };
    case "git": {
      const login = f.git_login || "token";
      const secret = login === "token" ? "access_token" : "ssh_private_key";
      // An SSH key keeps its line breaks.
      const detail: Record<string, unknown> = { credential_type: login, ...pick("provider", "username", "url", "webhook_secret") };
      if (f[secret]?.trim()) detail[secret] = login === "token" ? f[secret].trim() : f[secret];
      return detail;
    }
  }
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className="field">
      <span>{label}</span>
      {children}
    </label>
  );
}

export function CredentialForm({ onDone }: { onDone: () => void }) {
  const [kind, setKind] = useState<CredentialType>("llm");
  const [name, setName] = useState("");
  const [fields, setFields] = useState<Fields>({ provider_type: "openai", git_login: "token" });
  const [preferred, setPreferred] = useState(false);
  const [formError, setFormError] = useState<unknown>(null);
  const create = useCreateCredential();

  const input = (field: string, label: string, props: { type?: string; placeholder?: string; required?: boolean } = {}) => (
    <Field label={label}>
      <input name={field} value={fields[field] ?? ""} autoComplete={props.type === "password" ? "new-password" : "off"}
        onChange={(e) => setFields({ ...fields, [field]: e.target.value })} {...props} />
    </Field>
  );
  const select = (field: string, label: string, options: { value: string; label: string }[]) => (
    <Field label={label}>
      <select name={field} aria-label={label} value={fields[field]} onChange={(e) => setFields({ ...fields, [field]: e.target.value })}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>{o.label}</option>
        ))}
      </select>
    </Field>
  );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    let detail: Record<string, unknown>;
    try {
      detail = buildDetail(kind, fields, preferred);
    } catch (err) {
      return setFormError(err);
    }
    create.mutate({ name: name.trim(), credential_type: kind, detail }, { onSuccess: onDone });
  };

  const provider = fields.provider_type;
  const gitLogin = fields.git_login;
  return (
    <form className="card form-grid" onSubmit={submit} aria-label="New credential">
      <Field label="Name">
        <input name="name" value={name} maxLength={255} required onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field label="Kind">
        <select name="kind" aria-label="Kind" value={kind} onChange={(e) => setKind(e.target.value as CredentialType)}>
          {(Object.keys(KIND_LABEL) as CredentialType[]).map((k) => (
            <option key={k} value={k}>{KIND_LABEL[k]}</option>
          ))}
        </select>
      </Field>
      {kind === "llm" && (
        <>
          {select("provider_type", "Provider", PROVIDERS)}
          {input("api_key", "API key", { type: "password", required: provider !== "openai_compatible" })}
          {input("base_url", "Base URL", { type: "url", placeholder: BASE_URL_HINT[provider],
            required: provider === "openai_compatible" })}
          {provider !== "anthropic" && input("organization_id", "Organization")}
          <Field label="Extra headers (Name: value, one a line)">
            <textarea name="custom_headers" rows={2} value={fields.custom_headers ?? ""}
              onChange={(e) => setFields({ ...fields, custom_headers: e.target.value })} />
          </Field>
        </>
      )}
      {kind === "telegram" && (
        <>
          {input("bot_token", "Bot token", { type: "password", required: true, placeholder: "123456789:AAH…" })}
          {input("base_url", "Bot API server", { type: "url", placeholder: "https://api.telegram.org (default)" })}
        </>
      )}
      {kind === "tool" && (
        <>
          {input("url", "SearXNG URL", { type: "url", required: true, placeholder: "http://localhost:8888/" })}
          <label className="switch">
            <input type="checkbox" checked={preferred} onChange={(e) => setPreferred(e.target.checked)} />
            Preferred for web search
          </label>
        </>
      )}
      {kind === "git" && (
        <>
          {select("git_login", "Login", [{ value: "token", label: "Access token (HTTPS)" }, { value: "ssh_key", label: "SSH key" }])}
          {input("url", "Repository URL", { placeholder: gitLogin === "token" ? "https://github.com/owner/repo.git" : "git@github.com:owner/repo.git" })}
          {input("provider", "Provider", { placeholder: "github" })}
          {input("username", "Username")}
          {gitLogin === "token" ? (
            input("access_token", "Access token", { type: "password", required: true })
          ) : (
            <Field label="SSH private key">
              <textarea name="ssh_private_key" rows={4} required className="mono" value={fields.ssh_private_key ?? ""}
                onChange={(e) => setFields({ ...fields, ssh_private_key: e.target.value })} />
            </Field>
          )}
          {input("webhook_secret", "Webhook secret", { type: "password" })}
        </>
      )}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={create.isPending}>Add credential</button>
        <button type="button" onClick={onDone}>Cancel</button>
      </div>
      <ErrorNote error={formError ?? create.error} />
    </form>
  );
}
