// Logging in: a password gives a session key (POST /auth/token/). When the user has a
// second factor, it gives an mfa_token instead (requires_mfa), which goes with the code to
// /auth/mfa/login-verify/ for the key. Logging out ends this browser's key only.

import { useQuery } from "@tanstack/react-query";
import { get, post } from "./client";
import { keys } from "./keys";
import type { Me, TokenAnswer } from "./types";

export const login = (username: string, password: string) =>
  post<TokenAnswer>("/auth/token/", { username, password });

export const verifyMfa = (mfaToken: string, code: string) =>
  post<TokenAnswer>("/auth/mfa/login-verify/", { mfa_token: mfaToken, code });

export const logout = () => post<void>("/auth/logout/");

export function useMe() {
  return useQuery({ queryKey: keys.me, queryFn: () => get<Me>("/auth/me/"), staleTime: 60_000 });
}
