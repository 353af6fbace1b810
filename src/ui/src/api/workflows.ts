// Workflows, their nodes and edges: queries and mutations. Mutations put their answers
// into the cache themselves (see cache.ts); nothing is fetched again after them.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { addWorkflow, applyWorkflow, removeWorkflow } from "./cache";
import { del, get, patch, post } from "./client";
import { keys } from "./keys";
import type { NodeType, Page, Workflow, WorkflowDetail } from "./types";

const enc = encodeURIComponent;

export function useWorkflowList(offset: number, limit: number) {
  return useQuery({
    queryKey: keys.workflowList(offset, limit),
    queryFn: () => get<Page<Workflow>>(`/workflows/?offset=${offset}&limit=${limit}`),
  });
}

export function useWorkflow(slug: string) {
  return useQuery({
    queryKey: keys.workflow(slug),
    queryFn: () => get<WorkflowDetail>(`/workflows/${enc(slug)}/`),
    // The WebSocket keeps it current; read again only after a reconnect.
    staleTime: Infinity,
  });
}

export function useNodeTypes() {
  return useQuery({
    queryKey: keys.nodeTypes,
    queryFn: () => get<Record<string, NodeType>>("/workflows/node-types/"),
    staleTime: Infinity,
  });
}

export function useCreateWorkflow() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (fields: { name: string; description?: string }) => post<Workflow>("/workflows/", fields),
    onSuccess: (workflow) => addWorkflow(qc, workflow),
  });
}

export function useUpdateWorkflow() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ slug, fields }: { slug: string; fields: Partial<Workflow> }) =>
      patch<Workflow>(`/workflows/${enc(slug)}/`, fields),
    onSuccess: (workflow, { slug }) => applyWorkflow(qc, slug, workflow),
  });
}

export function useDeleteWorkflow() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (slug: string) => del(`/workflows/${enc(slug)}/`),
    onSuccess: (_, slug) => removeWorkflow(qc, slug),
  });
}

export function useImportWorkflow() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (document: unknown) => post<WorkflowDetail>("/workflows/import/", document),
    onSuccess: (workflow) => {
      addWorkflow(qc, workflow);
      qc.setQueryData(keys.workflow(workflow.slug), workflow);
    },
  });
}

export function exportWorkflow(slug: string): Promise<unknown> {
  return get<unknown>(`/workflows/${enc(slug)}/export/`);
}

export function useRunWorkflow() {
  return useMutation({
    mutationFn: ({ slug, text, triggerNodeId }: { slug: string; text?: string; triggerNodeId?: string }) =>
      post<{ execution_id: string; status: string }>(`/workflows/${enc(slug)}/execute/`, {
        text: text ?? "",
        ...(triggerNodeId ? { trigger_node_id: triggerNodeId } : {}),
      }),
  });
}
