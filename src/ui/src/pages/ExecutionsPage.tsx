// Every run the user may see, newest first, filtered by workflow and status.

import { useState } from "react";
import { useExecutionList } from "../api/executions";
import { ErrorNote } from "../components/ErrorNote";
import { elapsedMs, formatCost, formatDuration, formatTime } from "../components/format";
import { StatusBadge } from "../components/StatusBadge";
import { Link, navigate, useLocation } from "../router";

const PAGE_SIZE = 50;
const STATUSES = ["", "pending", "running", "interrupted", "completed", "failed", "cancelled"];

export function ExecutionsPage() {
  const { search } = useLocation();
  const workflow = search.get("workflow") ?? "";
  const status = search.get("status") ?? "";
  const [offset, setOffset] = useState(0);
  const list = useExecutionList({ workflow: workflow || undefined, status: status || undefined, offset, limit: PAGE_SIZE });
  const total = list.data?.total ?? 0;

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(search);
    if (value) next.set(name, value);
    else next.delete(name);
    setOffset(0);
    const query = next.toString();
    navigate(`/executions${query ? `?${query}` : ""}`, { replace: true });
  };

  return (
    <section>
      <div className="page-head">
        <h1>Executions</h1>
        <span className="spacer" />
        <label>
          Workflow{" "}
          <input className="mono" value={workflow} placeholder="any" onChange={(e) => setFilter("workflow", e.target.value)} />
        </label>
        <label>
          Status{" "}
          <select value={status} onChange={(e) => setFilter("status", e.target.value)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || "any"}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={list.error} />
      {list.data && list.data.items.length === 0 && <p className="muted">No executions.</p>}
      {list.data && list.data.items.length > 0 && (
        <table className="table" data-testid="execution-table">
          <thead>
            <tr>
              <th>Execution</th>
              <th>Workflow</th>
              <th>Status</th>
              <th>Started</th>
              <th className="num">Duration</th>
              <th className="num">Tokens</th>
              <th className="num">Cost</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((e) => (
              <tr key={e.execution_id} data-execution-id={e.execution_id}>
                <td className="mono">
                  <Link to={`/executions/${e.execution_id}`}>{e.execution_id.slice(0, 8)}</Link>
                </td>
                <td>
                  <Link to={`/workflows/${encodeURIComponent(e.workflow_slug)}`}>{e.workflow_slug}</Link>
                </td>
                <td>
                  <StatusBadge status={e.status} />
                </td>
                <td>{formatTime(e.started_at ?? e.created_at)}</td>
                <td className="num">{formatDuration(elapsedMs(e.started_at, e.completed_at))}</td>
                <td className="num">{e.total_tokens}</td>
                <td className="num">{formatCost(e.total_cost_usd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {total > PAGE_SIZE && (
        <div className="pager">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
            Previous
          </button>
          <span>
            {offset + 1}–{Math.min(offset + PAGE_SIZE, total)} of {total}
          </span>
          <button type="button" disabled={offset + PAGE_SIZE >= total} onClick={() => setOffset(offset + PAGE_SIZE)}>
            Next
          </button>
        </div>
      )}
    </section>
  );
}
