// A node's settings, generated from its type (GET /workflows/node-types/): the label, the
// config fields its kind has (a trigger's, a model's, an AI node's system prompt) and every
// setting of the type's config_schema (extra_config), plus the settings the schema does not
// name as JSON. Save sends one PATCH of what changed, undoable like any edit.

import { useEffect, useRef, useState, type FormEvent } from "react";
import type { ConfigSchema, NodeType, WorkflowNode } from "../api/types";
import { ErrorNote } from "../components/ErrorNote";
import type { WorkflowEditor } from "../edit/useWorkflowEditor";
import { CredentialSelect } from "./CredentialSelect";
import { draftChange, draftOf, withValue, type Draft } from "./draft";
import { BoolField, JsonField, NumberField, SchemaField, TextField } from "./fields";

// The model's own fields (config, not extra_config) of an ai_model node.
const MODEL_FIELDS: Record<string, ConfigSchema> = {
  model_name: { type: "string", description: "The provider's model name, e.g. gpt-4o-mini" },
  temperature: { type: "number", minimum: 0, maximum: 2 },
  max_tokens: { type: "integer", minimum: 1 },
  top_p: { type: "number", minimum: 0, maximum: 1 },
  frequency_penalty: { type: "number", minimum: -2, maximum: 2 },
  presence_penalty: { type: "number", minimum: -2, maximum: 2 },
  timeout: { type: "integer", minimum: 0, description: "Seconds before a model call is abandoned" },
  max_retries: { type: "integer", minimum: 0 },
};

function otherSettings(extra: Record<string, unknown>, schema: ConfigSchema): Record<string, unknown> {
  const named = schema.properties ?? {};
  return Object.fromEntries(Object.entries(extra).filter(([k]) => !(k in named)));
}

export function ConfigForm({ node, type, edit }: { node: WorkflowNode; type: NodeType | undefined; edit: WorkflowEditor }) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(node));
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  // Bumped when the draft is replaced: the inputs that keep text of their own start afresh.
  const [generation, setGeneration] = useState(0);
  const replaceDraft = (next: Draft) => {
    setDraft(next);
    setGeneration((g) => g + 1);
  };
  // The node the draft was made from: a change made elsewhere replaces an untouched draft.
  const base = useRef(node);
  // (The effect runs for a new node object only, reading the draft as it is then.)
  useEffect(() => {
    if (base.current === node) return;
    const untouched = !draftChange(base.current, draft);
    const shown = !draftChange(node, draft); // e.g. the event of our own save
    if (untouched && !shown) replaceDraft(draftOf(node));
    base.current = node;
  }, [node]);

  const change = draftChange(node, draft);
  const schema = type?.config_schema ?? {};
  const properties = schema.properties ?? {};
  const category = type?.category ?? "";
  const setConfig = (key: string, v: unknown) => setDraft((d) => ({ ...d, config: { ...d.config, [key]: v ?? null } }));
  const setExtra = (key: string, v: unknown) => setDraft((d) => ({ ...d, extra: withValue(d.extra, key, v) }));
  const setOther = (v: unknown) =>
    setDraft((d) => {
      const named = Object.fromEntries(Object.entries(d.extra).filter(([k]) => k in properties));
      return { ...d, extra: { ...named, ...(v && typeof v === "object" && !Array.isArray(v) ? v : {}) } };
    });

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!change) return;
    setSaving(true);
    setError(null);
    try {
      const updated = await edit.editor.updateNode(node, change);
      base.current = updated;
      replaceDraft(draftOf(updated));
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };

  const num = (k: string) => (typeof draft.config[k] === "number" ? (draft.config[k] as number) : undefined);
  return (
    <form className="cfg" onSubmit={save} data-testid="config-form" key={generation}>
      <label className="cfg-field">
        <span className="cfg-name">Label</span>
        <input value={draft.label} maxLength={255} placeholder={node.node_id}
          onChange={(e) => setDraft((d) => ({ ...d, label: e.target.value }))} />
      </label>

      {category === "trigger" && (
        <div className="cfg-row">
          <BoolField label="Active" value={draft.config.is_active !== false} onChange={(v) => setConfig("is_active", v ?? true)} />
          <NumberField label="Priority" value={num("priority")} onChange={(v) => setConfig("priority", v ?? 0)}
            hint="When several triggers could start a run, the highest priority wins" />
        </div>
      )}

      {category === "ai" && (
        <TextField label="System prompt" multiline value={(draft.config.system_prompt as string | null) ?? undefined}
          onChange={(v) => setConfig("system_prompt", v)} hint="A template" />
      )}

      {node.component_type === "ai_model" && (
        <>
          <CredentialSelect value={typeof draft.config.llm_credential_id === "number" ? draft.config.llm_credential_id : null}
            onChange={(id) => setConfig("llm_credential_id", id)} />
          {Object.entries(MODEL_FIELDS).map(([k, s]) => (
            <SchemaField key={k} name={k} schema={s} value={draft.config[k] ?? undefined} onChange={(v) => setConfig(k, v)} />
          ))}
        </>
      )}

      {Object.entries(properties).map(([k, s]) => (
        <SchemaField key={k} name={k} schema={s} value={draft.extra[k]} onChange={(v) => setExtra(k, v)} />
      ))}

      <details className="cfg-more">
        <summary>More</summary>
        {type?.executable && (
          <div className="cfg-row">
            <BoolField label="Pause before" value={draft.interrupt_before}
              onChange={(v) => setDraft((d) => ({ ...d, interrupt_before: !!v }))} hint="Wait for a person's answer before running" />
            <BoolField label="Pause after" value={draft.interrupt_after}
              onChange={(v) => setDraft((d) => ({ ...d, interrupt_after: !!v }))} />
          </div>
        )}
        <JsonField label="Other settings (JSON)" value={otherSettings(draft.extra, schema)} onChange={setOther}
          hint="extra_config keys the type's schema does not list, e.g. retries, continue_on_fail" />
      </details>

      <div className="cfg-actions">
        <button type="submit" className="primary" disabled={!change || saving}>
          Save
        </button>
        <button type="button" disabled={!change || saving} onClick={() => replaceDraft(draftOf(node))}>
          Discard
        </button>
        {change && <span className="muted">Unsaved changes</span>}
      </div>
      <ErrorNote error={error} />
    </form>
  );
}
