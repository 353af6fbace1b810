// Creating a schedule: a workflow, the trigger it fires (a schedule or manual trigger; by
// default the workflow's only one), how often, how many times, and an optional payload.

import { useState, type FormEvent } from "react";
import { useCreateSchedule } from "../api/schedules";
import { useWorkflow, useWorkflowList } from "../api/workflows";
import { ErrorNote } from "../components/ErrorNote";

const TRIGGER_TYPES = new Set(["trigger_schedule", "trigger_manual"]);
// The server's list limit: enough workflows to choose from on one page.
const WORKFLOW_CHOICES = 1000;

export const UNITS = [
  { label: "seconds", seconds: 1 },
  { label: "minutes", seconds: 60 },
  { label: "hours", seconds: 3600 },
  { label: "days", seconds: 86400 },
];

function TriggerChoice({ slug, value, onChange }: { slug: string; value: string; onChange: (v: string) => void }) {
  const workflow = useWorkflow(slug);
  const triggers = (workflow.data?.nodes ?? []).filter((n) => TRIGGER_TYPES.has(n.component_type));
  return (
    <label className="field">
      <span>Trigger</span>
      <select name="trigger" aria-label="Trigger" value={value} onChange={(e) => onChange(e.target.value)} disabled={!workflow.data}>
        <option value="">The workflow's only schedule or manual trigger</option>
        {triggers.map((n) => (
          <option key={n.node_id} value={n.node_id}>
            {n.label ? `${n.label} (${n.node_id})` : n.node_id} — {n.component_type.replace("trigger_", "")}
          </option>
        ))}
      </select>
    </label>
  );
}

export function ScheduleForm({ onDone }: { onDone: () => void }) {
  const workflows = useWorkflowList(0, WORKFLOW_CHOICES);
  const create = useCreateSchedule();
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [trigger, setTrigger] = useState("");
  const [every, setEvery] = useState("1");
  const [unit, setUnit] = useState(60);
  const [repeats, setRepeats] = useState("0");
  const [payload, setPayload] = useState("");
  const [formError, setFormError] = useState<string | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    let trigger_payload: Record<string, unknown> | undefined;
    if (payload.trim()) {
      try {
        trigger_payload = JSON.parse(payload);
      } catch {
        return setFormError("The payload is not JSON.");
      }
      if (!trigger_payload || typeof trigger_payload !== "object" || Array.isArray(trigger_payload))
        return setFormError("The payload must be a JSON object.");
    }
    create.mutate(
      {
        name: name.trim(),
        workflow_slug: slug,
        trigger_node_id: trigger || undefined,
        interval_seconds: Math.round(Number(every) * unit),
        total_repeats: Number(repeats) || 0,
        trigger_payload,
      },
      { onSuccess: onDone },
    );
  };

  return (
    <form className="card form-grid" onSubmit={submit} aria-label="New schedule">
      <label className="field">
        <span>Name</span>
        <input name="name" value={name} maxLength={255} required onChange={(e) => setName(e.target.value)} />
      </label>
      <label className="field">
        <span>Workflow</span>
        <select name="workflow" aria-label="Workflow" value={slug} required onChange={(e) => { setSlug(e.target.value); setTrigger(""); }}>
          <option value="" disabled>Choose a workflow</option>
          {workflows.data?.items.map((w) => (
            <option key={w.id} value={w.slug}>{w.name}</option>
          ))}
        </select>
      </label>
      {slug && <TriggerChoice slug={slug} value={trigger} onChange={setTrigger} />}
      <div className="field">
        <span id="every-label">Every</span>
        <div className="inline-fields">
          <input name="every" type="number" min={1} step={1} required aria-labelledby="every-label" value={every}
            onChange={(e) => setEvery(e.target.value)} />
          <select name="unit" aria-label="Unit" value={unit} onChange={(e) => setUnit(Number(e.target.value))}>
            {UNITS.map((u) => (
              <option key={u.seconds} value={u.seconds}>{u.label}</option>
            ))}
          </select>
        </div>
      </div>
      <label className="field">
        <span>Runs (0: forever)</span>
        <input name="repeats" type="number" min={0} step={1} value={repeats} onChange={(e) => setRepeats(e.target.value)} />
      </label>
      <label className="field wide">
        <span>Payload (JSON object, optional)</span>
        <textarea name="payload" rows={2} className="mono" placeholder='{"city": "Lisbon"}' value={payload}
          onChange={(e) => setPayload(e.target.value)} />
      </label>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={create.isPending}>Create schedule</button>
        <button type="button" onClick={onDone}>Cancel</button>
      </div>
      <ErrorNote error={formError ?? workflows.error ?? create.error} />
    </form>
  );
}
