// A JSON value, pretty-printed; long values fold.

export function JsonView({ value, label }: { value: unknown; label?: string }) {
  if (value === undefined) return null;
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  const long = text.length > 400 || text.split("\n").length > 12;
  const body = <pre className="json">{text}</pre>;
  if (!long) return label ? <div><div className="json-label">{label}</div>{body}</div> : body;
  return (
    <details className="json-fold">
      <summary>{label ?? "JSON"} ({text.length} characters)</summary>
      {body}
    </details>
  );
}
