// One's model calls today and this month, and how much of each budget limit is left.

import { useMyUsage, type UsageLimit, type UsageTotals } from "../api/usage";
import { ErrorNote } from "../components/ErrorNote";
import { formatCost, formatTime } from "../components/format";

const LIMIT_LABEL: Record<string, string> = {
  tokens_per_day: "Tokens a day",
  usd_per_day: "Dollars a day",
  tokens_per_month: "Tokens a month",
  usd_per_month: "Dollars a month",
};

function amount(limit: UsageLimit, value: number): string {
  return limit.limit.startsWith("usd") ? formatCost(value) : value.toLocaleString();
}

function TotalsRow({ label, t }: { label: string; t: UsageTotals }) {
  return (
    <tr>
      <td>
        {label} <span className="muted">({t.period})</span>
      </td>
      <td className="num">{t.llm_calls}</td>
      <td className="num">{t.total_tokens.toLocaleString()}</td>
      <td className="num">
        {formatCost(t.cost_usd)}
        {t.unpriced_calls > 0 && <span className="muted" title="Calls of models the price table does not know"> +{t.unpriced_calls} unpriced</span>}
      </td>
    </tr>
  );
}

export function UsageSummary() {
  const usage = useMyUsage();
  if (usage.error) return <ErrorNote error={usage.error} />;
  if (!usage.data) return null;
  const { today, this_month, limits } = usage.data;
  return (
    <>
      <table className="table compact">
        <thead>
          <tr>
            <th />
            <th className="num">Model calls</th>
            <th className="num">Tokens</th>
            <th className="num">Cost</th>
          </tr>
        </thead>
        <tbody>
          <TotalsRow label="Today" t={today} />
          <TotalsRow label="This month" t={this_month} />
        </tbody>
      </table>
      {limits.length === 0 ? (
        <p className="muted">No budget limits are set for you.</p>
      ) : (
        <ul className="limits">
          {limits.map((l) => (
            <li key={l.limit} className={l.exceeded ? "row-error" : undefined}>
              {LIMIT_LABEL[l.limit] ?? l.limit}: {amount(l, l.spent)} of {amount(l, l.allowed)} used
              {l.exceeded ? `, reached until ${formatTime(l.resets_at)}` : `, ${amount(l, l.remaining)} left`}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
