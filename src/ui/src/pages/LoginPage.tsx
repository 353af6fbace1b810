// Username and password; then a one-time code when the server asks for one.

import { useState, type FormEvent } from "react";
import { login, verifyMfa } from "../api/auth";
import { setSessionKey } from "../auth/session";
import { ErrorNote } from "../components/ErrorNote";
import { ThemeToggle } from "../components/ThemeToggle";

export function LoginPage() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [needsCode, setNeedsCode] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = needsCode ? await verifyMfa(username, code) : await login(username, password);
      if (answer.requires_mfa && !answer.key) {
        setNeedsCode(true);
        return;
      }
      setSessionKey(answer.key);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

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
              value={code} autoFocus onChange={(e) => setCode(e.target.value)} required />
          </label>
        )}
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {needsCode ? "Verify" : "Log in"}
        </button>
        <div className="login-foot">
          <ThemeToggle />
        </div>
      </form>
    </div>
  );
}
