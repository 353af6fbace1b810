// Schedules: every schedule the user may see, when each runs next, pausing, resuming,
// deleting, and creating one.

import { useEffect, useState } from "react";
import { useDeleteSchedule, useScheduleAction, useScheduleList, type Schedule } from "../api/schedules";
import { ErrorNote } from "../components/ErrorNote";
import { formatTime } from "../components/format";
import { Pager } from "../components/Pager";
import { Link } from "../router";
import { ScheduleForm, UNITS } from "./ScheduleForm";

const PAGE_SIZE = 50;
const TONE: Record<string, string> = { active: "ok", paused: "warn", done: "muted", dead: "bad" };
// How often "in 3 min" is said again.
const CLOCK_MS = 10_000;

function formatInterval(seconds: number): string {
  const unit = [...UNITS].reverse().find((u) => seconds % u.seconds === 0) ?? UNITS[0];
  const n = seconds / unit.seconds;
  return `every ${n === 1 ? "" : `${n} `}${n === 1 ? unit.label.replace(/s$/, "") : unit.label}`;
}

function formatFromNow(iso: string, now: number): string {
  const s = Math.round((new Date(iso).getTime() - now) / 1000);
  if (Number.isNaN(s)) return "";
  if (s <= 0) return "due now";
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.round(s / 60)} min`;
  if (s < 86400) return `in ${Math.round(s / 360) / 10} h`;
  return `in ${Math.round(s / 8640) / 10} days`;
}

function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}

export function SchedulesPage() {
  const [offset, setOffset] = useState(0);
  const [adding, setAdding] = useState(false);
  const list = useScheduleList(offset, PAGE_SIZE);
  const now = useNow(CLOCK_MS);

  return (
    <section>
      <div className="page-head">
        <h1>Schedules</h1>
        <span className="spacer" />
        {!adding && (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            New schedule
          </button>
        )}
      </div>
      {adding && <ScheduleForm onDone={() => setAdding(false)} />}
      <ErrorNote error={list.error} />
      {list.data && list.data.items.length === 0 && <p className="muted">No schedules yet.</p>}
      {list.data && list.data.items.length > 0 && (
        <table className="table" data-testid="schedule-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Workflow</th>
              <th>Interval</th>
              <th>Status</th>
              <th className="num">Runs</th>
              <th className="num">Failures</th>
              <th>Last run</th>
              <th>Next run</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((s) => (
              <ScheduleRow key={s.id} schedule={s} now={now} />
            ))}
          </tbody>
        </table>
      )}
      <Pager offset={offset} limit={PAGE_SIZE} total={list.data?.total ?? 0} onChange={setOffset} />
    </section>
  );
}

function ScheduleRow({ schedule: s, now }: { schedule: Schedule; now: number }) {
  const action = useScheduleAction();
  const remove = useDeleteSchedule();
  const [confirmDelete, setConfirmDelete] = useState(false);

  return (
    <tr data-schedule-id={s.id} data-name={s.name} data-status={s.status}>
      <td>
        {s.name}
        {s.description && <div className="muted">{s.description}</div>}
        {s.last_error && <div className="row-error">{s.last_error}</div>}
        <ErrorNote error={action.error ?? remove.error} />
      </td>
      <td>
        <Link to={`/workflows/${encodeURIComponent(s.workflow_slug)}`}>{s.workflow_slug}</Link>
        <div className="mono muted">{s.trigger_node_id}</div>
      </td>
      <td>{formatInterval(s.interval_seconds)}</td>
      <td>
        <span className={`badge badge-${TONE[s.status] ?? "muted"}`} data-testid="schedule-status">{s.status}</span>
      </td>
      <td className="num">
        {s.run_count}
        {s.total_repeats > 0 ? ` / ${s.total_repeats}` : ""}
      </td>
      <td className="num">{s.error_count}</td>
      <td>
        {s.last_execution_id ? (
          <Link to={`/executions/${s.last_execution_id}`}>{formatTime(s.last_run_at)}</Link>
        ) : (
          formatTime(s.last_run_at)
        )}
      </td>
      <td data-testid="next-run">
        {s.next_run_at ? (
          <>
            {formatTime(s.next_run_at)}
            <div className="muted">{formatFromNow(s.next_run_at, now)}</div>
          </>
        ) : (
          "—"
        )}
      </td>
      <td>
        <div className="actions">
          {s.status === "active" && (
            <button type="button" disabled={action.isPending} onClick={() => action.mutate({ id: s.id, action: "pause" })}>
              Pause
            </button>
          )}
          {s.status === "paused" && (
            <button type="button" disabled={action.isPending} onClick={() => action.mutate({ id: s.id, action: "resume" })}>
              Resume
            </button>
          )}
          {confirmDelete ? (
            <>
              <button type="button" className="danger" disabled={remove.isPending} onClick={() => remove.mutate(s.id)}>
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
  );
}
