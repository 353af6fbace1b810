// One run: its state, totals, error and output; the log of every node attempt (input,
// output, error, duration, tokens and cost); cancelling it; answering its confirmations.

import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { useCancelExecution, useExecution, useResumeExecution } from "../api/executions";
import type { ExecutionDetail, ExecutionLog, PendingConfirmation } from "../api/types";
import { ErrorNote } from "../components/ErrorNote";
import { elapsedMs, formatCost, formatDuration, formatTime } from "../components/format";
import { JsonView } from "../components/JsonView";
import { StatusBadge } from "../components/StatusBadge";
import { Link } from "../router";
import { useChannel } from "../ws/hooks";

const ACTIVE = new Set(["pending", "running", "interrupted"]);

export function ExecutionPage({ id }: { id: string }) {
  useChannel(`execution:${id}`);
  const execution = useExecution(id);
  const cancel = useCancelExecution();

  if (execution.error instanceof ApiError && execution.error.status === 404)
    return (
      <p className="muted">
        No execution {id}. <Link to="/executions">Back to the executions</Link>
      </p>
    );
  const e = execution.data;
  if (!e) return <ErrorNote error={execution.error} />;

  return (
    <section data-testid="execution" data-status={e.status}>
      <div className="page-head">
        <h1>
          Run <span className="mono">{e.execution_id.slice(0, 8)}</span>
        </h1>
        <StatusBadge status={e.status} />
        <Link to={`/workflows/${encodeURIComponent(e.workflow_slug)}`}>{e.workflow_slug}</Link>
        <span className="spacer" />
        {ACTIVE.has(e.status) && (
          <button type="button" className="danger" disabled={cancel.isPending}
            onClick={() => cancel.mutate({ id: e.execution_id, arg: undefined })}>
            Cancel
          </button>
        )}
      </div>
      <ErrorNote error={cancel.error} />
      <Summary e={e} />
      {e.error_message && (
        <div className="error-note" role="alert" data-testid="execution-error">
          {e.error_message}
          {e.error_code && <span className="mono"> ({e.error_code})</span>}
        </div>
      )}
      {e.pending_confirmations.map((c) => (
        <Confirmation key={c.task_id} executionId={e.execution_id} confirmation={c} />
      ))}
      {e.final_output != null && <JsonView label="Final output" value={e.final_output} />}
      {e.trigger_payload != null && <JsonView label="Trigger payload" value={e.trigger_payload} />}
      <h2>Node log</h2>
      {e.logs.length === 0 ? <p className="muted">No node has finished yet.</p> : <LogTable logs={e.logs} />}
    </section>
  );
}

function Summary({ e }: { e: ExecutionDetail }) {
  return (
    <dl className="facts facts-row">
      <dt>Created</dt>
      <dd>{formatTime(e.created_at)}</dd>
      <dt>Started</dt>
      <dd>{formatTime(e.started_at)}</dd>
      <dt>Ended</dt>
      <dd>{formatTime(e.completed_at)}</dd>
      <dt>Duration</dt>
      <dd>{formatDuration(elapsedMs(e.started_at, e.completed_at))}</dd>
      <dt>Tokens</dt>
      <dd>{e.total_tokens}</dd>
      <dt>Model calls</dt>
      <dd>{e.llm_calls}</dd>
      <dt>Cost</dt>
      <dd>{formatCost(e.total_cost_usd)}</dd>
    </dl>
  );
}

function Confirmation({ executionId, confirmation }: { executionId: string; confirmation: PendingConfirmation }) {
  const resume = useResumeExecution();
  const [answer, setAnswer] = useState("");
  const send = (input: string) => resume.mutate({ id: executionId, arg: { input, task_id: confirmation.task_id } });
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    send(answer);
  };
  return (
    <form className="card confirmation" onSubmit={submit} data-testid="confirmation">
      <p>
        <strong>{confirmation.node_id}</strong> asks: {confirmation.prompt}
      </p>
      {confirmation.expires_at && <p className="muted">Until {formatTime(confirmation.expires_at)}</p>}
      <div className="inline-form">
        <button type="button" className="primary" disabled={resume.isPending} onClick={() => send("yes")}>
          Yes
        </button>
        <button type="button" disabled={resume.isPending} onClick={() => send("no")}>
          No
        </button>
        <input aria-label="Answer" placeholder="Or answer in words" value={answer} onChange={(ev) => setAnswer(ev.target.value)} />
        <button type="submit" disabled={resume.isPending || !answer}>
          Send
        </button>
      </div>
      <ErrorNote error={resume.error} />
    </form>
  );
}

function usage(log: ExecutionLog): { tokens?: number; cost?: number } {
  const u = (log.output as { token_usage?: { total_tokens?: number; cost_usd?: number } } | null)?.token_usage;
  return { tokens: u?.total_tokens, cost: u?.cost_usd };
}

function LogTable({ logs }: { logs: ExecutionLog[] }) {
  return (
    <table className="table logs" data-testid="log-table">
      <thead>
        <tr>
          <th>Node</th>
          <th>Status</th>
          <th className="num">Attempt</th>
          <th className="num">Duration</th>
          <th className="num">Tokens</th>
          <th className="num">Cost</th>
          <th>Input, output, error</th>
        </tr>
      </thead>
      <tbody>
        {logs.map((log) => {
          const { tokens, cost } = usage(log);
          return (
            <tr key={log.id} data-node-id={log.node_id}>
              <td className="mono">{log.node_id}</td>
              <td>
                <StatusBadge status={log.status} />
              </td>
              <td className="num">{log.metadata?.attempt ?? 1}</td>
              <td className="num">{formatDuration(log.duration_ms)}</td>
              <td className="num">{tokens ?? "—"}</td>
              <td className="num">{cost === undefined ? "—" : formatCost(cost)}</td>
              <td className="log-io">
                {log.error && (
                  <div className="error-note">
                    {log.error}
                    {log.error_code && <span className="mono"> ({log.error_code})</span>}
                  </div>
                )}
                <JsonView label="Input" value={log.input} />
                {log.output != null && <JsonView label="Output" value={log.output} />}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
