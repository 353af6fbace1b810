// One setting's input, chosen by its schema (the node type's config_schema): text (a
// template, which the variable picker writes into), number, checkbox, choice, list of
// objects (switch rules, categories), list of strings, or JSON for anything else.
// undefined means "not set": the server's default applies.

import { useState, type ReactNode, type RefObject } from "react";
import type { ConfigSchema } from "../api/types";
import { useInsertable, type InsertMode } from "./insertTarget";
import { ObjectListField } from "./ObjectListField";

// Settings written as several lines.
const MULTILINE = new Set(["message", "code", "program", "prompt", "input_template", "system_prompt"]);

export const humanize = (name: string) => {
  const words = name.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
};

interface FieldProps<T> {
  label: string;
  value: T | undefined;
  onChange: (v: T | undefined) => void;
  hint?: string;
  className?: string;
}

function Field({ label, hint, children, inline, className }: {
  label: string;
  hint?: string;
  children: ReactNode;
  inline?: boolean;
  className?: string;
}) {
  return (
    <label className={`cfg-field${inline ? " cfg-inline" : ""}${className ? ` ${className}` : ""}`} title={hint}>
      {inline && children}
      <span className="cfg-name">{label}</span>
      {!inline && children}
    </label>
  );
}

export function TextField({ label, value, onChange, hint, className, multiline, mode = "template", placeholder }: FieldProps<string> & {
  multiline?: boolean;
  mode?: InsertMode;
  placeholder?: string;
}) {
  const text = value ?? "";
  const set = (v: string) => onChange(v === "" ? undefined : v);
  const { ref, onFocus } = useInsertable(mode, text, set);
  return (
    <Field label={label} hint={hint} className={className}>
      {multiline || text.includes("\n") ? (
        <textarea ref={ref as RefObject<HTMLTextAreaElement>} rows={4} value={text} placeholder={placeholder}
          onFocus={onFocus} onChange={(e) => set(e.target.value)} spellCheck={false} />
      ) : (
        <input ref={ref as RefObject<HTMLInputElement>} value={text} placeholder={placeholder} onFocus={onFocus}
          onChange={(e) => set(e.target.value)} spellCheck={false} />
      )}
    </Field>
  );
}

export function NumberField({ label, value, onChange, hint, schema }: FieldProps<number> & { schema?: ConfigSchema }) {
  const fallback = typeof schema?.default === "number" ? String(schema.default) : "";
  return (
    <Field label={label} hint={hint}>
      <input type="number" value={value ?? ""} placeholder={fallback} min={schema?.minimum} max={schema?.maximum}
        step={schema?.type === "integer" ? 1 : "any"}
        onChange={(e) => {
          const n = Number(e.target.value);
          onChange(e.target.value === "" || !Number.isFinite(n) ? undefined : n);
        }} />
    </Field>
  );
}

export function BoolField({ label, value, onChange, hint, fallback = false }: FieldProps<boolean> & { fallback?: boolean }) {
  return (
    <Field label={label} hint={hint} inline>
      <input type="checkbox" checked={value ?? fallback} onChange={(e) => onChange(e.target.checked)} />
    </Field>
  );
}

export function EnumField({ label, value, onChange, hint, className, options, fallback }: FieldProps<string> & {
  options: unknown[];
  fallback?: unknown;
}) {
  const shown = value ?? (fallback == null ? "" : String(fallback));
  return (
    <Field label={label} hint={hint} className={className}>
      <select value={shown} onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}>
        {fallback == null && <option value="">—</option>}
        {options.map((o) => (
          <option key={String(o)} value={String(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    </Field>
  );
}

export function StringListField({ label, value, onChange, hint }: FieldProps<string[]>) {
  const [text, setText] = useState(() => (value ?? []).join("\n"));
  return (
    <Field label={label} hint={`${hint ?? ""}${hint ? "\n" : ""}One a line.`}>
      <textarea rows={3} value={text} spellCheck={false}
        onChange={(e) => {
          setText(e.target.value);
          const items = e.target.value.split("\n").map((s) => s.trim()).filter(Boolean);
          onChange(items.length ? items : undefined);
        }} />
    </Field>
  );
}

/** Any JSON value; what does not parse is shown as an error and not kept. */
export function JsonField({ label, value, onChange, hint }: FieldProps<unknown>) {
  const [text, setText] = useState(() => (value === undefined ? "" : JSON.stringify(value, null, 2)));
  const [bad, setBad] = useState<string | null>(null);
  return (
    <Field label={label} hint={hint}>
      <textarea className="mono" rows={3} value={text} spellCheck={false} aria-invalid={!!bad}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === "") {
            setBad(null);
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(e.target.value));
            setBad(null);
          } catch (err) {
            setBad(err instanceof Error ? err.message : "not JSON");
          }
        }} />
      {bad && <span className="cfg-bad">Not JSON: {bad}</span>}
    </Field>
  );
}

/** The input for one setting of a node type's config_schema. */
export function SchemaField({ name, schema, value, onChange, mode }: {
  name: string;
  schema: ConfigSchema;
  value: unknown;
  onChange: (v: unknown) => void;
  mode?: InsertMode;
}) {
  const label = humanize(name);
  const hint = schema.description;
  if (schema.enum)
    return <EnumField label={label} hint={hint} value={value == null ? undefined : String(value)} onChange={onChange}
      options={schema.enum} fallback={schema.default} />;
  switch (schema.type) {
    case "boolean":
      return <BoolField label={label} hint={hint} value={typeof value === "boolean" ? value : undefined} onChange={onChange}
        fallback={schema.default === true} />;
    case "integer":
    case "number":
      return <NumberField label={label} hint={hint} value={typeof value === "number" ? value : undefined} onChange={onChange}
        schema={schema} />;
    case "string":
      return <TextField label={label} hint={hint} value={typeof value === "string" ? value : undefined} onChange={onChange}
        multiline={MULTILINE.has(name)} mode={mode} placeholder={typeof schema.default === "string" ? schema.default : undefined} />;
    case "array":
      if (schema.items?.type === "object" && schema.items.properties)
        return <ObjectListField name={name} label={label} hint={hint} schema={schema.items}
          value={Array.isArray(value) ? (value as Record<string, unknown>[]) : undefined} onChange={onChange} />;
      if (schema.items?.type === "string")
        return <StringListField label={label} hint={hint} value={Array.isArray(value) ? value.map(String) : undefined}
          onChange={onChange} />;
  }
  return <JsonField label={label} hint={hint} value={value} onChange={onChange} />;
}
