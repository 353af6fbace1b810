// Schedules (docs/api.md "Schedules"): a workflow's trigger fired every interval.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { del, get, post } from "./client";
import { keys } from "./keys";
import { prependToPages, removeFromPages, replaceInPages } from "./list-cache";
import type { Page } from "./types";

export type ScheduleStatus = "active" | "paused" | "done" | "dead";

export interface Schedule {
  id: string;
  name: string;
  description: string | null;
  workflow_id: number;
  workflow_slug: string;
  trigger_node_id: string;
  user_id: number;
  interval_seconds: number;
  total_repeats: number;
  max_retries: number;
  timeout_seconds: number;
  trigger_payload: Record<string, unknown> | null;
  status: ScheduleStatus;
  current_repeat: number;
  current_retry: number;
  run_count: number;
  error_count: number;
  last_run_at: string | null;
  next_run_at: string | null;
  last_error: string | null;
  current_execution_id: string | null;
  last_execution_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface NewSchedule {
  name: string;
  workflow_slug: string;
  trigger_node_id?: string;
  interval_seconds: number;
  total_repeats?: number;
  trigger_payload?: Record<string, unknown>;
}

// The scheduler changes run counts and next run times by itself, and no event says so:
// the list is read again just after the earliest next run, at most every few seconds and
// at least once a minute while a schedule is active.
const MIN_REREAD_MS = 3_000;
const MAX_REREAD_MS = 60_000;
const AFTER_DUE_MS = 1_500;

function rereadDelay(page: Page<Schedule> | undefined): number | false {
  const due = (page?.items ?? [])
    .filter((s) => s.status === "active")
    .map((s) => (s.next_run_at ? new Date(s.next_run_at).getTime() : Date.now()));
  if (due.length === 0) return false;
  const wait = Math.min(...due) - Date.now() + AFTER_DUE_MS;
  return Math.min(MAX_REREAD_MS, Math.max(MIN_REREAD_MS, wait));
}

export function useScheduleList(offset: number, limit: number) {
  return useQuery({
    queryKey: keys.scheduleList(offset, limit),
    queryFn: () => get<Page<Schedule>>(`/schedules/?offset=${offset}&limit=${limit}`),
    refetchInterval: (q) => rereadDelay(q.state.data),
  });
}

export function useCreateSchedule() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: NewSchedule) => post<Schedule>("/schedules/", body),
    onSuccess: (schedule) => prependToPages(qc, keys.schedules, schedule),
  });
}

/** Pause or resume: the answer is the schedule as it is now. */
export function useScheduleAction() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action }: { id: string; action: "pause" | "resume" }) =>
      post<Schedule>(`/schedules/${encodeURIComponent(id)}/${action}/`),
    onSuccess: (schedule) => replaceInPages(qc, keys.schedules, schedule),
  });
}

export function useDeleteSchedule() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => del(`/schedules/${encodeURIComponent(id)}/`),
    onSuccess: (_, id) => removeFromPages(qc, keys.schedules, id),
  });
}
