// Users and API keys (docs/api.md "Users and API keys"): one's own account and keys, and
// for admins everyone's. A new key is in the creation's answer only; the cache keeps it
// without the key.

import { useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { del, get, patch, post } from "./client";
import { keys } from "./keys";
import { updateInArray } from "./list-cache";

export type Role = "admin" | "normal";

export interface User {
  id: number;
  username: string;
  role: Role;
  first_name: string;
  last_name: string;
  created_at: string;
  mfa_enabled: boolean;
  key_count: number;
}

export interface UserPage {
  users: User[];
  total: number;
}

export interface ApiKey {
  id: number;
  name: string;
  /** The key's first 8 characters. */
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  is_active: boolean;
}

export interface NewApiKey extends ApiKey {
  /** The whole key: shown once, never again. */
  key: string;
}

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  first_name?: string;
  last_name?: string;
}

export type KeyOwner = "me" | number;

const keysPath = (owner: KeyOwner) => (owner === "me" ? "/users/me/keys/" : `/users/${owner}/keys/`);

function updateUserLists(qc: QueryClient, update: (page: UserPage) => UserPage) {
  qc.setQueriesData<UserPage>({ queryKey: keys.users }, (page) => (page ? update(page) : page));
}

function changeKeyCount(qc: QueryClient, owner: KeyOwner, by: number) {
  if (owner === "me") return;
  updateUserLists(qc, (page) => ({
    ...page,
    users: page.users.map((u) => (u.id === owner ? { ...u, key_count: Math.max(0, u.key_count + by) } : u)),
  }));
}

export function useUserList(offset: number, limit: number, enabled = true) {
  return useQuery({
    queryKey: keys.userList(offset, limit),
    queryFn: () => get<UserPage>(`/users/?offset=${offset}&limit=${limit}`),
    enabled,
  });
}

export function useCreateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: NewUser) => post<User>("/users/", body),
    // Listed oldest first: the new user ends the last page.
    onSuccess: (user) =>
      updateUserLists(qc, (page) =>
        page.users.some((u) => u.id === user.id) ? page : { users: [...page.users, user], total: page.total + 1 },
      ),
  });
}

export function useDeleteUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => del(`/users/${id}/`),
    onSuccess: (_, id) => {
      updateUserLists(qc, (page) =>
        page.users.some((u) => u.id === id)
          ? { users: page.users.filter((u) => u.id !== id), total: Math.max(0, page.total - 1) }
          : page,
      );
      qc.removeQueries({ queryKey: keys.apiKeys(id) });
    },
  });
}

/** One's own account, with the names /auth/me/ does not give. */
export function useProfile() {
  return useQuery({ queryKey: keys.profile, queryFn: () => get<User>("/users/me/") });
}

export function useUpdateProfile() {
  const qc = useQueryClient();
  return useMutation({
    // A new password goes with the current one: the server refuses it alone.
    mutationFn: (fields: { first_name?: string; last_name?: string; password?: string; current_password?: string }) =>
      patch<User>("/users/me/", fields),
    onSuccess: (user, fields) => {
      qc.setQueryData(keys.profile, user);
      // A new password ended one's other logins: their keys are gone from the list.
      if (fields.password) void qc.invalidateQueries({ queryKey: keys.apiKeys("me") });
    },
  });
}

export function useApiKeys(owner: KeyOwner) {
  return useQuery({ queryKey: keys.apiKeys(owner), queryFn: () => get<ApiKey[]>(keysPath(owner)) });
}

export function useCreateApiKey(owner: KeyOwner) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => post<NewApiKey>(keysPath(owner), { name }),
    onSuccess: (created) => {
      const { key: _shownOnce, ...listed } = created;
      qc.setQueryData<ApiKey[]>(keys.apiKeys(owner), (list) =>
        list && !list.some((k) => k.id === listed.id) ? [listed, ...list] : list,
      );
      changeKeyCount(qc, owner, +1);
    },
  });
}

/** Revoked keys stay listed, inactive. */
export function useRevokeApiKey(owner: KeyOwner) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => del(`${keysPath(owner)}${id}/`),
    onSuccess: (_, id) => {
      updateInArray<ApiKey>(qc, keys.apiKeys(owner), id, (k) => ({ ...k, is_active: false }));
      changeKeyCount(qc, owner, -1);
    },
  });
}
