// Logging in: a password gives a session key (POST /auth/token/). When the server asks
// for a second factor (requires_mfa), the code goes to /auth/mfa/login-verify/ as in the
// reference API.

import { useQuery } from "@tanstack/react-query";
import { get, post } from "./client";
import { keys } from "./keys";
import type { Me, TokenAnswer } from "./types";

export const login = (username: string, password: string) =>
  post<TokenAnswer>("/auth/token/", { username, password });

export const verifyMfa = (username: string, code: string) =>
  post<TokenAnswer>("/auth/mfa/login-verify/", { username, code });

export function useMe() {
  return useQuery({ queryKey: keys.me, queryFn: () => get<Me>("/auth/me/"), staleTime: 60_000 });
}
