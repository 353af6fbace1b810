// What one's model calls used and cost, and the budget they are held to (docs/api.md
// "Spend and budgets").

import { useQuery } from "@tanstack/react-query";
import { get } from "./client";
import { keys } from "./keys";

export interface UsageTotals {
  period: string;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  llm_calls: number;
  unpriced_calls: number;
  cost_usd: number;
}

export interface UsageLimit {
  limit: string;
  period: string;
  spent: number;
  allowed: number;
  remaining: number;
  exceeded: boolean;
  resets_at: string;
}

export interface Usage {
  today: UsageTotals;
  this_month: UsageTotals;
  limits: UsageLimit[];
}

export function useMyUsage() {
  return useQuery({ queryKey: keys.myUsage, queryFn: () => get<Usage>("/users/me/usage/?days=1") });
}
