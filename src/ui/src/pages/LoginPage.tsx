// Username and password; then, for a user with a second factor, the 6-digit code of their
// authenticator app, sent with the token the password gave.

import { useState, type FormEvent } from "react";
import { login, verifyMfa } from "../api/auth";
import { ApiError } from "../api/client";
import { setSessionKey } from "../auth/session";
import { ErrorNote } from "../components/ErrorNote";
import { ThemeToggle } from "../components/ThemeToggle";

export function LoginPage() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  // Set once the password is accepted and the server wants a code.
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const startOver = () => {
    setMfaToken(null);
    setCode("");
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = mfaToken ? await verifyMfa(mfaToken, code) : await login(username, password);
      if (answer.requires_mfa && !answer.key) {
        setMfaToken(answer.mfa_token ?? null);
        if (!answer.mfa_token) setError(new Error("The server asked for a code but gave no token to send it with."));
        return;
      }
      setSessionKey(answer.key);
    } catch (err) {
      // A token that expired (5 minutes) or was used: the password is asked again.
      if (mfaToken && err instanceof ApiError && err.status === 401 && /token/i.test(err.message)) startOver();
      else setCode("");
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const needsCode = mfaToken !== null;
  return (
    <div className="login-screen">
      <form className="card login" onSubmit={submit} aria-label="Log in">
        <h1>pipelit</h1>
        <label>
          Username
          <input name="username" autoComplete="username" value={username} autoFocus
            disabled={needsCode} onChange={(e) => setUsername(e.target.value)} required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password}
            disabled={needsCode} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {needsCode && (
          <label>
            Authentication code
            <input name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6}
              title="The 6 digits your authenticator app shows" value={code} autoFocus
              onChange={(e) => setCode(e.target.value.replace(/\D/g, ""))} required />
          </label>
        )}
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {needsCode ? "Verify" : "Log in"}
        </button>
        {needsCode && (
          <button type="button" className="ghost" onClick={startOver} disabled={busy}>
            Back
          </button>
        )}
        <div className="login-foot">
          <ThemeToggle />
        </div>
      </form>
    </div>
  );
}
