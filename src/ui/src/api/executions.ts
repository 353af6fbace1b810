// Executions: the list, one run's detail, cancel and resume.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { get, post } from "./client";
import { keys } from "./keys";
import type { Execution, ExecutionDetail, Page } from "./types";

const ACTIVE = new Set(["pending", "running", "interrupted"]);
const POLL_WHILE_ACTIVE_MS = 2000;

export function useExecutionList(filter: { workflow?: string; status?: string; offset: number; limit: number }) {
  const query = new URLSearchParams({ offset: String(filter.offset), limit: String(filter.limit) });
  if (filter.workflow) query.set("workflow_slug", filter.workflow);
  if (filter.status) query.set("status", filter.status);
  return useQuery({
    queryKey: keys.executionList(filter),
    queryFn: () => get<Page<Execution>>(`/executions/?${query}`),
    // Runs of workflows whose channel no page follows change too: look again while any
    // listed run is still going.
    refetchInterval: (q) => (q.state.data?.items.some((e) => ACTIVE.has(e.status)) ? POLL_WHILE_ACTIVE_MS : false),
  });
}

export function useExecution(id: string) {
  return useQuery({
    queryKey: keys.execution(id),
    queryFn: () => get<ExecutionDetail>(`/executions/${encodeURIComponent(id)}/`),
  });
}

function useExecutionAction<A>(action: (id: string, arg: A) => Promise<unknown>) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, arg }: { id: string; arg: A }) => action(id, arg),
    onSuccess: (_, { id }) => {
      // The run's new state comes with its events; the answer says only the status.
      qc.invalidateQueries({ queryKey: keys.execution(id) });
      qc.invalidateQueries({ queryKey: keys.executions });
    },
  });
}

export const useCancelExecution = () =>
  useExecutionAction<void>((id) => post(`/executions/${encodeURIComponent(id)}/cancel/`));

export const useResumeExecution = () =>
  useExecutionAction<{ input: string; task_id: string }>((id, { input, task_id }) =>
    post(`/executions/${encodeURIComponent(id)}/resume/`, { input, task_id }),
  );
