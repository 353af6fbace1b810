// A list of objects edited in place — a switch's rules (id, label, field, operator, value),
// a categorizer's categories — each item with its properties' inputs, in order (a switch
// tries its rules in order), added, moved up and removed.

import type { ConfigSchema } from "../api/types";
import { withValue } from "./draft";
import { EnumField, humanize, TextField } from "./fields";

type Item = Record<string, unknown>;

const singular = (label: string) => {
  const word = label.toLowerCase();
  return word.endsWith("ies") ? `${word.slice(0, -3)}y` : word.endsWith("s") ? word.slice(0, -1) : word;
};

/** A new item: a fresh id (rule_1, rule_2, …), the first choice of each required choice. */
function newItem(schema: ConfigSchema, items: Item[], noun: string): Item {
  const item: Item = {};
  const props = schema.properties ?? {};
  if (props.id) {
    const taken = new Set(items.map((i) => i.id));
    let n = items.length + 1;
    while (taken.has(`${noun}_${n}`)) n++;
    item.id = `${noun}_${n}`;
  }
  for (const [k, p] of Object.entries(props))
    if (p.enum && schema.required?.includes(k)) item[k] = p.enum.includes("equals") ? "equals" : p.enum[0];
  return item;
}

function ItemField({ name, schema, value, onChange, isRule }: {
  name: string;
  schema: ConfigSchema;
  value: unknown;
  onChange: (v: unknown) => void;
  isRule: boolean;
}) {
  const label = humanize(name);
  const className = `cfg-prop-${name}`;
  if (schema.enum)
    return <EnumField label={label} hint={schema.description} value={value == null ? undefined : String(value)}
      onChange={onChange} options={schema.enum} fallback={schema.default} className={className} />;
  // A rule's field is a path into the run state; its value is compared as text (numbers
  // as numbers by the numeric operators).
  const text = value === undefined || typeof value === "string" ? value : JSON.stringify(value);
  return <TextField label={label} hint={schema.description} value={text as string | undefined} onChange={onChange}
    mode={isRule && name === "field" ? "path" : "template"} className={className} />;
}

export function ObjectListField({ name, label, hint, schema, value, onChange }: {
  name: string;
  label: string;
  hint?: string;
  schema: ConfigSchema;
  value: Item[] | undefined;
  onChange: (v: Item[] | undefined) => void;
}) {
  const items = value ?? [];
  const noun = singular(label);
  const isRule = !!schema.properties?.operator;
  const set = (list: Item[]) => onChange(list);
  const setItem = (i: number, key: string, v: unknown) => set(items.map((item, j) => (j === i ? withValue(item, key, v) : item)));
  const move = (i: number) => set(items.map((item, j) => (j === i - 1 ? items[i] : j === i ? items[i - 1] : item)));
  return (
    <div className="cfg-list" data-testid={`list-${name}`} title={hint}>
      <div className="cfg-name">{label}</div>
      {items.map((item, i) => (
        <fieldset key={i} className="cfg-item">
          <legend>
            {humanize(noun)} {i + 1}
          </legend>
          {Object.entries(schema.properties ?? {}).map(([k, p]) => (
            <ItemField key={k} name={k} schema={p} value={item[k]} onChange={(v) => setItem(i, k, v)} isRule={isRule} />
          ))}
          <div className="cfg-item-actions">
            {i > 0 && (
              <button type="button" className="ghost" onClick={() => move(i)}>
                Move up
              </button>
            )}
            <button type="button" className="ghost" onClick={() => set(items.filter((_, j) => j !== i))}>
              Remove
            </button>
          </div>
        </fieldset>
      ))}
      <button type="button" onClick={() => set([...items, newItem(schema, items, noun)])}>
        Add {noun}
      </button>
    </div>
  );
}
