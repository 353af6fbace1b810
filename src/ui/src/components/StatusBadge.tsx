// A run's or a node's status as a coloured pill.

const TONE: Record<string, string> = {
  running: "info",
  pending: "muted",
  waiting: "warn",
  interrupted: "warn",
  success: "ok",
  completed: "ok",
  failed: "bad",
  cancelled: "muted",
  skipped: "muted",
};

const SYMBOL: Record<string, string> = {
  running: "●",
  pending: "…",
  waiting: "‖",
  interrupted: "‖",
  success: "✓",
  completed: "✓",
  failed: "✕",
  cancelled: "–",
  skipped: "–",
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge badge-${TONE[status] ?? "muted"}`} data-status={status}>
      <span aria-hidden="true">{SYMBOL[status] ?? "·"}</span> {status}
    </span>
  );
}
