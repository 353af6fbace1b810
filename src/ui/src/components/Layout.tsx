// The frame of every page after login: navigation, who is logged in, the live
// connection's state, the theme toggle and logging out.

import type { ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { logout as endSession, useMe } from "../api/auth";
import { setSessionKey } from "../auth/session";
import { Link, useLocation } from "../router";
import { useConnectionState } from "../ws/hooks";
import { ThemeToggle } from "./ThemeToggle";

const NAV = [
  { to: "/", label: "Workflows", active: (p: string) => p === "/" || p.startsWith("/workflows") },
  { to: "/executions", label: "Executions", active: (p: string) => p.startsWith("/executions") },
  { to: "/schedules", label: "Schedules", active: (p: string) => p.startsWith("/schedules") },
  { to: "/credentials", label: "Credentials", active: (p: string) => p.startsWith("/credentials") },
  { to: "/users", label: "Users", active: (p: string) => p.startsWith("/users"), adminOnly: true },
  { to: "/settings", label: "Settings", active: (p: string) => p.startsWith("/settings") },
];

export function Layout({ children }: { children: ReactNode }) {
  const { pathname } = useLocation();
  const me = useMe();
  const connection = useConnectionState();
  const qc = useQueryClient();
  const logout = () => {
    // The server forgets this browser's key (sent before it is dropped here); other
    // browsers stay logged in.
    endSession().catch(() => undefined);
    setSessionKey(null);
    qc.clear();
  };
  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">pipelit</span>
        <nav>
          {NAV.filter((n) => !n.adminOnly || me.data?.role === "admin").map((n) => (
            <Link key={n.to} to={n.to} className={n.active(pathname) ? "nav-link active" : "nav-link"}>
              {n.label}
            </Link>
          ))}
        </nav>
        <span className="spacer" />
        <span className={`connection connection-${connection}`} data-testid="connection" title="Live updates">
          {connection === "open" ? "live" : connection}
        </span>
        {me.data && <span className="who">{me.data.username}</span>}
        <ThemeToggle />
        <button type="button" className="ghost" onClick={logout}>
          Log out
        </button>
      </header>
      <main className="content">{children}</main>
    </div>
  );
}
