// Two-factor authentication of one's own account: when off, a new secret for an
// authenticator app and a first code from it to turn it on; when on, a code to turn it off.
// An administrator turns it off for someone who lost their app: pipelitctl user disable-mfa.

import { useState, type FormEvent } from "react";
import { useMfaSetup, useMfaStatus, useMfaSwitch, type MfaSecret } from "../api/mfa";
import { Link } from "../router";
import { ErrorNote } from "./ErrorNote";
import "./mfa-setup.css";

export function MfaSetup() {
  const status = useMfaStatus();
  return (
    <div className="mfa-setup" data-testid="mfa-setup">
      <ErrorNote error={status.error} />
      {status.data && (status.data.mfa_enabled ? <TurnOff /> : <TurnOn />)}
    </div>
  );
}

/** The 6 digits an app shows, typed or pasted (spaces and all). */
function CodeInput({ value, onChange }: { value: string; onChange: (code: string) => void }) {
  return (
    <input name="mfa-code" className="mfa-code mono" aria-label="Code from the app" inputMode="numeric"
      autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required placeholder="123456"
      title="The 6 digits your authenticator app shows" value={value}
      onChange={(e) => onChange(e.target.value.replace(/\D/g, "").slice(0, 6))} />
  );
}

function TurnOn() {
  const setup = useMfaSetup();
  if (!setup.data)
    return (
      <>
        <p>
          Two-factor authentication is <strong>off</strong>: your password alone logs you in. With it on, logging
          in also asks for a 6-digit code from an authenticator app.
        </p>
        <button type="button" className="primary" onClick={() => setup.mutate()} disabled={setup.isPending}>
          Set up two-factor authentication
        </button>
        <ErrorNote error={setup.error} />
      </>
    );
  return <Confirm secret={setup.data} onRestart={() => setup.mutate()} restarting={setup.isPending} />;
}

/** The secret in groups of four, as apps that take it typed show it. */
function grouped(secret: string) {
  return secret.match(/.{1,4}/g)?.join(" ") ?? secret;
}

function Confirm({ secret, onRestart, restarting }: { secret: MfaSecret; onRestart: () => void; restarting: boolean }) {
  const enable = useMfaSwitch("on");
  const [code, setCode] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    enable.mutate(code, { onError: () => setCode("") });
  };
  return (
    <form onSubmit={submit} aria-label="Turn on two-factor authentication">
      <ol className="mfa-steps">
        <li>
          In your authenticator app, add an account with this key (time-based):
          <br />
          <code className="mfa-secret mono" data-testid="mfa-secret">{grouped(secret.secret)}</code>
          <br />
          or, on the phone with the app, open{" "}
          <a className="mfa-uri mono" href={secret.provisioning_uri} data-testid="mfa-uri">
            {secret.provisioning_uri}
          </a>
        </li>
        <li>
          Type the code the app shows, to show that it works:
          <div className="inline-fields">
            <CodeInput value={code} onChange={setCode} />
            <button type="submit" className="primary" disabled={enable.isPending || code.length !== 6}>
              Turn on
            </button>
            <button type="button" onClick={onRestart} disabled={restarting}>
              New key
            </button>
          </div>
        </li>
      </ol>
      <ErrorNote error={enable.error} />
    </form>
  );
}

function TurnOff() {
  const disable = useMfaSwitch("off");
  const [code, setCode] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    disable.mutate(code, { onError: () => setCode("") });
  };
  return (
    <form onSubmit={submit} aria-label="Turn off two-factor authentication">
      <p role="status">
        Two-factor authentication is <strong>on</strong>: logging in asks for a code from your authenticator app.
      </p>
      <p className="muted">To turn it off, type the code the app shows now.</p>
      <div className="inline-fields">
        <CodeInput value={code} onChange={setCode} />
        <button type="submit" className="danger" disabled={disable.isPending || code.length !== 6}>
          Turn off
        </button>
      </div>
      <ErrorNote error={disable.error} />
    </form>
  );
}

/** The page Settings links to (MFA_SETUP_PATH). */
export function MfaSetupPage() {
  return (
    <section className="settings">
      <h1>Two-factor authentication</h1>
      <div className="card">
        <MfaSetup />
      </div>
      <p>
        <Link to="/settings">Back to the settings</Link>
      </p>
    </section>
  );
}
