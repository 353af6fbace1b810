// Which page a path shows; the login page until there is a session key.

import { useSyncExternalStore } from "react";
import { onSessionChange, sessionKey } from "./auth/session";
import { Layout } from "./components/Layout";
import { MfaSetupPage } from "./components/MfaSetup";
import { matchPath, useLocation } from "./router";
import { CredentialsPage } from "./pages/CredentialsPage";
import { ExecutionPage } from "./pages/ExecutionPage";
import { ExecutionsPage } from "./pages/ExecutionsPage";
import { LoginPage } from "./pages/LoginPage";
import { SchedulesPage } from "./pages/SchedulesPage";
import { MFA_SETUP_PATH, SettingsPage } from "./pages/SettingsPage";
import { UsersPage } from "./pages/UsersPage";
import { WorkflowPage } from "./pages/WorkflowPage";
import { WorkflowsPage } from "./pages/WorkflowsPage";
import { useLiveUpdates } from "./ws/hooks";

function Page({ pathname }: { pathname: string }) {
  let params: Record<string, string> | null;
  if (pathname === "/" || pathname === "/workflows") return <WorkflowsPage />;
  if ((params = matchPath("/workflows/:slug", pathname))) return <WorkflowPage key={params.slug} slug={params.slug} />;
  if (pathname === "/executions") return <ExecutionsPage />;
  if ((params = matchPath("/executions/:id", pathname))) return <ExecutionPage key={params.id} id={params.id} />;
  if (pathname === "/credentials") return <CredentialsPage />;
  if (pathname === "/schedules") return <SchedulesPage />;
  if (pathname === "/users") return <UsersPage />;
  if (pathname === "/settings") return <SettingsPage />;
  if (pathname === MFA_SETUP_PATH) return <MfaSetupPage />;
  return <p className="muted">Nothing here: {pathname}</p>;
}

function LoggedIn() {
  useLiveUpdates();
  const { pathname } = useLocation();
  return (
    <Layout>
      <Page pathname={pathname} />
    </Layout>
  );
}

export function App() {
  const key = useSyncExternalStore(onSessionChange, sessionKey);
  return key ? <LoggedIn /> : <LoginPage />;
}
