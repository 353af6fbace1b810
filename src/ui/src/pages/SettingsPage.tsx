// Settings: one's account (names, password, two-factor state), the theme, one's spend this
// day and month, and one's API keys. The daemon's own configuration lives in its
// configuration file, not here.

import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useMe } from "../api/auth";
import { ApiError, get } from "../api/client";
import { useProfile, useUpdateProfile } from "../api/users";
import { ErrorNote } from "../components/ErrorNote";
import { formatTime } from "../components/format";
import { Link } from "../router";
import { setThemeChoice, useTheme, type ThemeChoice } from "../theme/theme";
import { ApiKeysPanel } from "./ApiKeysPanel";
import { UsageSummary } from "./UsageSummary";

/** Where the two-factor setup page lives. */
export const MFA_SETUP_PATH = "/settings/mfa";
const MIN_PASSWORD = 8;

/** Whether this daemon offers two-factor authentication (GET /auth/mfa/status/ answers). */
function useMfaOffered() {
  return useQuery({
    queryKey: ["mfa-offered"],
    queryFn: () =>
      get("/auth/mfa/status/").then(
        () => true,
        (e) => {
          if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return false;
          throw e;
        },
      ),
    staleTime: Infinity,
    retry: false,
  });
}

export function SettingsPage() {
  return (
    <section className="settings">
      <h1>Settings</h1>
      <AccountCard />
      <PasswordCard />
      <AppearanceCard />
      <div className="card">
        <h2>Spend</h2>
        <UsageSummary />
      </div>
      <div className="card">
        <h2>API keys</h2>
        <p className="muted">Keys for scripts and other clients: send one as <code>Authorization: Bearer &lt;key&gt;</code>.</p>
        <ApiKeysPanel owner="me" mine />
      </div>
    </section>
  );
}

function AccountCard() {
  const me = useMe();
  const profile = useProfile();
  const mfaOffered = useMfaOffered();
  const update = useUpdateProfile();
  const [names, setNames] = useState<{ first_name: string; last_name: string } | null>(null);
  const shown = names ?? { first_name: profile.data?.first_name ?? "", last_name: profile.data?.last_name ?? "" };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    update.mutate({ first_name: shown.first_name.trim(), last_name: shown.last_name.trim() }, {
      onSuccess: () => setNames(null),
    });
  };
  return (
    <div className="card" data-testid="account">
      <h2>Account</h2>
      <ErrorNote error={me.error ?? profile.error} />
      <dl className="facts">
        <dt>Username</dt>
        <dd>{me.data?.username}</dd>
        <dt>Role</dt>
        <dd>{me.data?.role}</dd>
        <dt>Since</dt>
        <dd>{formatTime(profile.data?.created_at)}</dd>
        <dt>Two-factor</dt>
        <dd data-testid="mfa-state">
          {me.data?.mfa_enabled ? "on" : "off"}
          {mfaOffered.data && (
            <>
              {" · "}
              <Link to={MFA_SETUP_PATH}>{me.data?.mfa_enabled ? "Manage" : "Set up"} two-factor authentication</Link>
            </>
          )}
        </dd>
      </dl>
      <form className="form-grid" onSubmit={submit} aria-label="Profile">
        <label className="field">
          <span>First name</span>
          <input name="first_name" maxLength={150} value={shown.first_name}
            onChange={(e) => setNames({ ...shown, first_name: e.target.value })} />
        </label>
        <label className="field">
          <span>Last name</span>
          <input name="last_name" maxLength={150} value={shown.last_name}
            onChange={(e) => setNames({ ...shown, last_name: e.target.value })} />
        </label>
        <div className="form-actions">
          <button type="submit" disabled={!names || update.isPending}>Save names</button>
          {update.isSuccess && !names && <span className="muted" role="status">Saved.</span>}
        </div>
        <ErrorNote error={update.error} />
      </form>
    </div>
  );
}

function PasswordCard() {
  const update = useUpdateProfile();
  const [current, setCurrent] = useState("");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [mismatch, setMismatch] = useState<string | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (password !== again) return setMismatch("The two passwords differ.");
    setMismatch(null);
    update.mutate({ password, current_password: current }, {
      onSuccess: () => {
        setCurrent("");
        setPassword("");
        setAgain("");
      },
    });
  };
  return (
    <div className="card">
      <h2>Password</h2>
      <form className="form-grid" onSubmit={submit} aria-label="Change password">
        <label className="field">
          <span>Current password</span>
          <input name="current-password" type="password" autoComplete="current-password" required
            value={current} onChange={(e) => setCurrent(e.target.value)} />
        </label>
        <label className="field">
          <span>New password</span>
          <input name="new-password" type="password" autoComplete="new-password" minLength={MIN_PASSWORD} required
            value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <label className="field">
          <span>New password again</span>
          <input name="new-password-again" type="password" autoComplete="new-password" minLength={MIN_PASSWORD} required
            value={again} onChange={(e) => setAgain(e.target.value)} />
        </label>
        <div className="form-actions">
          <button type="submit" disabled={update.isPending}>Change password</button>
          {update.isSuccess && <span className="muted" role="status">Password changed.</span>}
        </div>
        <ErrorNote error={mismatch ?? update.error} />
      </form>
    </div>
  );
}

const THEMES: { value: ThemeChoice; label: string }[] = [
  { value: "system", label: "As the system" },
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
];

function AppearanceCard() {
  const { choice } = useTheme();
  return (
    <div className="card">
      <h2>Appearance</h2>
      <div className="choices" role="radiogroup" aria-label="Theme">
        {THEMES.map((t) => (
          <label key={t.value} className="switch">
            <input type="radio" name="theme" value={t.value} checked={choice === t.value}
              onChange={() => setThemeChoice(t.value)} />
            {t.label}
          </label>
        ))}
      </div>
    </div>
  );
}
