// The LLM credential of a model node, chosen among those the user may use.

import { useQuery } from "@tanstack/react-query";
import { get } from "../api/client";
import type { Page } from "../api/types";

interface CredentialOption {
  id: number;
  name: string;
  credential_type: string;
}

// A key of its own: the credentials pages keep theirs as paged lists.
const LLM_CREDENTIALS = ["llm-credential-options"] as const;

export function CredentialSelect({ value, onChange }: { value: number | null; onChange: (id: number | null) => void }) {
  const { data, error } = useQuery({
    queryKey: LLM_CREDENTIALS,
    queryFn: () => get<Page<CredentialOption>>("/credentials/?limit=200"),
  });
  const options = (data?.items ?? []).filter((c) => c.credential_type === "llm");
  const known = value === null || options.some((c) => c.id === value);
  return (
    <label className="cfg-field">
      <span className="cfg-name">Credential</span>
      <select value={value ?? ""} onChange={(e) => onChange(e.target.value === "" ? null : Number(e.target.value))}>
        <option value="">—</option>
        {options.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
        {!known && <option value={value!}>#{value}</option>}
      </select>
      {error ? <span className="cfg-bad">The credentials could not be read.</span> : null}
    </label>
  );
}
