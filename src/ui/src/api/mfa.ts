// The second factor (docs/api.md "Second factor (TOTP)"): a new secret from setup, turned
// on by a first code, turned off with a code. Changing it changes what /auth/me/ says.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { get, post } from "./client";
import { keys } from "./keys";

export interface MfaSecret {
  /** base32, for typing into an authenticator app */
  secret: string;
  /** otpauth://totp/Pipelit:<user>?secret=…&issuer=Pipelit, for apps that open or scan it */
  provisioning_uri: string;
}

const MFA_STATUS = ["mfa-status"] as const;

export function useMfaStatus() {
  return useQuery({ queryKey: MFA_STATUS, queryFn: () => get<{ mfa_enabled: boolean }>("/auth/mfa/status/") });
}

export function useMfaSetup() {
  return useMutation({ mutationFn: () => post<MfaSecret>("/auth/mfa/setup/") });
}

/** Turns MFA on (verify) or off (disable) with a code. */
export function useMfaSwitch(to: "on" | "off") {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (code: string) =>
      post<{ mfa_enabled: boolean }>(to === "on" ? "/auth/mfa/verify/" : "/auth/mfa/disable/", { code }),
    onSuccess: (answer) => {
      qc.setQueryData(MFA_STATUS, answer);
      return qc.invalidateQueries({ queryKey: keys.me });
    },
  });
}
