// Changes applied to the query cache in place: by this tab's mutations from their answers
// and by the WebSocket from other tabs' (and the engine's) events. Every function is
// idempotent, since a tab sees both its own answer and the event for it.

import type { QueryClient } from "@tanstack/react-query";
import { keys } from "./keys";
import type { Page, Workflow, WorkflowDetail, WorkflowEdge, WorkflowNode } from "./types";

type Updater<T> = (old: T | undefined) => T | undefined;

function updateDetail(qc: QueryClient, slug: string, update: Updater<WorkflowDetail>) {
  qc.setQueryData<WorkflowDetail>(keys.workflow(slug), update);
}

function updateLists(qc: QueryClient, update: (page: Page<Workflow>) => Page<Workflow>) {
  qc.setQueriesData<Page<Workflow>>({ queryKey: keys.workflows }, (page) => (page ? update(page) : page));
}

function patchListed(qc: QueryClient, slug: string, fields: Partial<Workflow>) {
  updateLists(qc, (page) => ({
    ...page,
    items: page.items.map((w) => (w.slug === slug ? { ...w, ...fields } : w)),
  }));
}

function setCounts(qc: QueryClient, slug: string) {
  const detail = qc.getQueryData<WorkflowDetail>(keys.workflow(slug));
  if (detail) patchListed(qc, slug, { node_count: detail.nodes.length, edge_count: detail.edges.length });
}

export function upsertNode(qc: QueryClient, slug: string, node: WorkflowNode) {
  updateDetail(qc, slug, (d) => {
    if (!d) return d;
    const i = d.nodes.findIndex((n) => n.node_id === node.node_id);
    // Two quick edits: the first one's event may come after the second one's answer.
    if (i >= 0 && node.updated_at < d.nodes[i].updated_at) return d;
    const nodes = i < 0 ? [...d.nodes, node] : d.nodes.map((n, j) => (j === i ? node : n));
    return { ...d, nodes, node_count: nodes.length };
  });
  setCounts(qc, slug);
}

export function removeNode(qc: QueryClient, slug: string, nodeId: string) {
  updateDetail(qc, slug, (d) => {
    if (!d) return d;
    const nodes = d.nodes.filter((n) => n.node_id !== nodeId);
    const edges = d.edges.filter((e) => e.source_node_id !== nodeId && e.target_node_id !== nodeId);
    return { ...d, nodes, edges, node_count: nodes.length, edge_count: edges.length };
  });
  setCounts(qc, slug);
}

export function upsertEdge(qc: QueryClient, slug: string, edge: WorkflowEdge) {
  updateDetail(qc, slug, (d) => {
    if (!d) return d;
    const i = d.edges.findIndex((e) => e.id === edge.id);
    const edges = i < 0 ? [...d.edges, edge] : d.edges.map((e, j) => (j === i ? edge : e));
    return { ...d, edges, edge_count: edges.length };
  });
  setCounts(qc, slug);
}

export function removeEdge(qc: QueryClient, slug: string, edgeId: number) {
  updateDetail(qc, slug, (d) => {
    if (!d) return d;
    const edges = d.edges.filter((e) => e.id !== edgeId);
    return { ...d, edges, edge_count: edges.length };
  });
  setCounts(qc, slug);
}

/** A workflow's new fields; when its slug changed, its cache entries move to the new one. */
export function applyWorkflow(qc: QueryClient, oldSlug: string, workflow: Workflow) {
  const previous = qc.getQueryData<WorkflowDetail>(keys.workflow(oldSlug));
  if (previous) {
    const { nodes, edges } = previous;
    qc.setQueryData<WorkflowDetail>(keys.workflow(workflow.slug), { ...previous, ...workflow, nodes, edges });
    if (workflow.slug !== oldSlug) qc.removeQueries({ queryKey: keys.workflow(oldSlug), exact: true });
  }
  if (workflow.slug !== oldSlug) {
    const live = qc.getQueryData(keys.live(oldSlug));
    if (live !== undefined) qc.setQueryData(keys.live(workflow.slug), live);
  }
  updateLists(qc, (page) => ({
    ...page,
    items: page.items.map((w) => (w.slug === oldSlug || w.id === workflow.id ? { ...w, ...workflow } : w)),
  }));
}

export function addWorkflow(qc: QueryClient, workflow: Workflow) {
  // Lists are newest first: the new one heads the first page and shifts the others.
  for (const [key, page] of qc.getQueriesData<Page<Workflow>>({ queryKey: keys.workflows })) {
    if (!page || page.items.some((w) => w.id === workflow.id)) continue;
    const { offset, limit } = (key[1] ?? { offset: 0, limit: page.items.length + 1 }) as { offset: number; limit: number };
    const items = offset === 0 ? [workflow, ...page.items].slice(0, limit) : page.items;
    qc.setQueryData<Page<Workflow>>(key, { items, total: page.total + 1 });
  }
}

export function removeWorkflow(qc: QueryClient, slug: string) {
  qc.removeQueries({ queryKey: keys.workflow(slug), exact: true });
  updateLists(qc, (page) =>
    page.items.some((w) => w.slug === slug)
      ? { items: page.items.filter((w) => w.slug !== slug), total: Math.max(0, page.total - 1) }
      : page,
  );
}
