// Paged lists ({items, total}, newest first) and plain arrays in the query cache, changed
// in place from a mutation's answer: nothing is fetched again after a create, an edit or a
// delete. Every list under a key prefix is changed (one per page).

import type { QueryClient, QueryKey } from "@tanstack/react-query";
import type { Page } from "./types";

type Id = string | number;
type PageKey = readonly [string, { offset: number; limit: number }?, ...unknown[]];

/** A new item heads the first page of each list and shifts the others. */
export function prependToPages<T extends { id: Id }>(qc: QueryClient, prefix: QueryKey, item: T) {
  for (const [key, page] of qc.getQueriesData<Page<T>>({ queryKey: prefix })) {
    if (!page || page.items.some((x) => x.id === item.id)) continue;
    const { offset, limit } = (key as PageKey)[1] ?? { offset: 0, limit: page.items.length + 1 };
    const items = offset === 0 ? [item, ...page.items].slice(0, limit) : page.items;
    qc.setQueryData<Page<T>>(key, { items, total: page.total + 1 });
  }
}

export function replaceInPages<T extends { id: Id }>(qc: QueryClient, prefix: QueryKey, item: T) {
  qc.setQueriesData<Page<T>>({ queryKey: prefix }, (page) =>
    page ? { ...page, items: page.items.map((x) => (x.id === item.id ? item : x)) } : page,
  );
}

export function removeFromPages<T extends { id: Id }>(qc: QueryClient, prefix: QueryKey, id: Id) {
  qc.setQueriesData<Page<T>>({ queryKey: prefix }, (page) =>
    page && page.items.some((x) => x.id === id)
      ? { items: page.items.filter((x) => x.id !== id), total: Math.max(0, page.total - 1) }
      : page,
  );
}

/** Changes one item of a plain array (kept as it is when the item is not there). */
export function updateInArray<T extends { id: Id }>(qc: QueryClient, key: QueryKey, id: Id, update: (x: T) => T) {
  qc.setQueryData<T[]>(key, (list) => list?.map((x) => (x.id === id ? update(x) : x)));
}
