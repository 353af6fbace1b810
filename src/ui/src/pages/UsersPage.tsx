// Users (admins only): the accounts, creating one with its role, deleting one (which
// revokes its keys), and each account's API keys.

import { useState, type FormEvent } from "react";
import { useMe } from "../api/auth";
import { useCreateUser, useDeleteUser, useUserList, type Role, type User } from "../api/users";
import { ErrorNote } from "../components/ErrorNote";
import { formatTime } from "../components/format";
import { Pager } from "../components/Pager";
import { ApiKeysPanel } from "./ApiKeysPanel";

const PAGE_SIZE = 50;

export function UsersPage() {
  const me = useMe();
  const isAdmin = me.data?.role === "admin";
  const [offset, setOffset] = useState(0);
  const list = useUserList(offset, PAGE_SIZE, isAdmin);

  if (me.data && !isAdmin)
    return (
      <section>
        <h1>Users</h1>
        <p className="muted" data-testid="admins-only">Only an admin manages users.</p>
      </section>
    );
  return (
    <section>
      <div className="page-head">
        <h1>Users</h1>
      </div>
      <CreateUserForm />
      <ErrorNote error={me.error ?? list.error} />
      {list.data && (
        <table className="table" data-testid="user-table">
          <thead>
            <tr>
              <th>Username</th>
              <th>Name</th>
              <th>Role</th>
              <th>MFA</th>
              <th className="num">Active keys</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.users.map((u) => (
              <UserRow key={u.id} user={u} self={u.id === me.data?.id} />
            ))}
          </tbody>
        </table>
      )}
      <Pager offset={offset} limit={PAGE_SIZE} total={list.data?.total ?? 0} onChange={setOffset} />
    </section>
  );
}

function CreateUserForm() {
  const create = useCreateUser();
  const empty = { username: "", password: "", first_name: "", last_name: "" };
  const [fields, setFields] = useState(empty);
  const [role, setRole] = useState<Role>("normal");
  const set = (name: keyof typeof empty) => (e: { target: { value: string } }) =>
    setFields({ ...fields, [name]: e.target.value });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { ...fields, username: fields.username.trim(), role },
      { onSuccess: () => setFields(empty) },
    );
  };
  return (
    <form className="card form-grid" onSubmit={submit} aria-label="New user">
      <label className="field">
        <span>Username</span>
        <input name="username" required maxLength={150} autoComplete="off" value={fields.username} onChange={set("username")} />
      </label>
      <label className="field">
        <span>Password</span>
        <input name="password" type="password" required minLength={8} autoComplete="new-password" value={fields.password}
          onChange={set("password")} />
      </label>
      <label className="field">
        <span>Role</span>
        <select name="role" aria-label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          <option value="normal">normal</option>
          <option value="admin">admin</option>
        </select>
      </label>
      <label className="field">
        <span>First name</span>
        <input name="first_name" maxLength={150} value={fields.first_name} onChange={set("first_name")} />
      </label>
      <label className="field">
        <span>Last name</span>
        <input name="last_name" maxLength={150} value={fields.last_name} onChange={set("last_name")} />
      </label>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={create.isPending}>Create user</button>
      </div>
      <ErrorNote error={create.error} />
    </form>
  );
}

function UserRow({ user: u, self }: { user: User; self: boolean }) {
  const remove = useDeleteUser();
  const [showKeys, setShowKeys] = useState(false);
  const [confirm, setConfirm] = useState(false);
  return (
    <>
      <tr data-user-id={u.id} data-username={u.username}>
        <td>
          {u.username}
          {self && <span className="muted"> (you)</span>}
          <ErrorNote error={remove.error} />
        </td>
        <td>{[u.first_name, u.last_name].filter(Boolean).join(" ") || "—"}</td>
        <td>
          <span className={u.role === "admin" ? "badge badge-info" : "badge badge-muted"}>{u.role}</span>
        </td>
        <td>{u.mfa_enabled ? "on" : "off"}</td>
        <td className="num">{u.key_count}</td>
        <td>{formatTime(u.created_at)}</td>
        <td>
          <div className="actions">
            <button type="button" aria-expanded={showKeys} onClick={() => setShowKeys(!showKeys)}>API keys</button>
            {self ? null : confirm ? (
              <>
                <button type="button" className="danger" disabled={remove.isPending} onClick={() => remove.mutate(u.id)}>
                  Delete for good
                </button>
                <button type="button" onClick={() => setConfirm(false)}>Keep</button>
              </>
            ) : (
              <button type="button" onClick={() => setConfirm(true)}>Delete</button>
            )}
          </div>
        </td>
      </tr>
      {showKeys && (
        <tr className="detail-row" data-keys-of={u.username}>
          <td colSpan={7}>
            <ApiKeysPanel owner={u.id} mine={self} />
          </td>
        </tr>
      )}
    </>
  );
}
