// Credentials (docs/api.md "Credentials"): LLM provider keys, Telegram bot tokens, tool
// endpoints and git logins. The server masks every secret in its answers; the UI only
// ever sends them.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { del, get, post } from "./client";
import { keys } from "./keys";
import { prependToPages, removeFromPages } from "./list-cache";
import type { Page } from "./types";

export type CredentialType = "llm" | "telegram" | "tool" | "git";

export interface Credential {
  id: number;
  name: string;
  credential_type: CredentialType;
  owner_id: number;
  /** The type's fields, secrets masked ("sk-p****wxyz" or "****"), absent ones null. */
  detail: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface CredentialTestResult {
  ok: boolean;
  error: string | null;
  detail: string | null;
}

export interface ProviderModel {
  id: string;
  name: string;
}

export interface NewCredential {
  name: string;
  credential_type: CredentialType;
  detail: Record<string, unknown>;
}

export function useCredentialList(offset: number, limit: number) {
  return useQuery({
    queryKey: keys.credentialList(offset, limit),
    queryFn: () => get<Page<Credential>>(`/credentials/?offset=${offset}&limit=${limit}`),
  });
}

export function useCreateCredential() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: NewCredential) => post<Credential>("/credentials/", body),
    onSuccess: (credential) => prependToPages(qc, keys.credentials, credential),
  });
}

export function useDeleteCredential() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => del(`/credentials/${id}/`),
    onSuccess: (_, id) => {
      removeFromPages(qc, keys.credentials, id);
      qc.removeQueries({ queryKey: keys.credentialModels(id) });
    },
  });
}

/** Asks the service whether the credential works; the answer is always 200 {ok, error, detail}. */
export function useTestCredential() {
  return useMutation({
    mutationFn: (id: number) => post<CredentialTestResult>(`/credentials/${id}/test/`),
  });
}

/** An LLM credential's models, read from its provider when `enabled`. */
export function useCredentialModels(id: number, enabled: boolean) {
  return useQuery({
    queryKey: keys.credentialModels(id),
    queryFn: () => get<ProviderModel[]>(`/credentials/${id}/models/`),
    enabled,
    staleTime: 5 * 60_000,
    // A provider that did not answer (502) is said at once, not asked three times.
    retry: false,
  });
}
