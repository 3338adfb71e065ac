"use client";
/**
 * Console users (admins): create, change role, reset password, disable/enable, reset the second factor, delete.
 * Every change but enabling ends the user's sessions (the server moves their session epoch), and each
 * confirmation says so. Changing yourself signs you out here too.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { signOut } from "next-auth/react";
import { useState } from "react";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Card } from "~/components/ui/card";
import { ConfirmDialog } from "~/components/ui/confirm-dialog";
import { errorText } from "~/components/ui/errors";
import { compactInputClass, Field, inputClass, selectClass } from "~/components/ui/field";
import { Notice } from "~/components/ui/notice";
import { PageHeader } from "~/components/ui/page-header";
import { EmptyRow, Table, tdClass, thClass } from "~/components/ui/table";
import { fmtTime, fmtTimeFull } from "~/components/ui/time";
import { useTRPC } from "~/lib/trpc";

type Role = "viewer" | "operator" | "admin";
const ROLES: Role[] = ["viewer", "operator", "admin"];
const ROLE_CAN: Record<Role, string> = {
  viewer: "can watch everything but change nothing",
  operator: "can also drain, put into maintenance, activate and re-weight real servers",
  admin: "can also change services, real servers, agents, users and read the audit log",
};
const PASSWORD_MIN = 12;
/** "a viewer", "an operator", "an admin". */
const aRole = (r: Role) => `${r === "viewer" ? "a" : "an"} ${r}`;
const USERNAME_RE = /^[a-z0-9][a-z0-9._-]{1,31}$/;

interface UserRow {
  id: string;
  username: string;
  role: Role;
  totp: boolean;
  disabled: boolean;
  createdAt: number;
}

type Pending =
  | { kind: "role"; user: UserRow; role: Role }
  | { kind: "password"; user: UserRow }
  | { kind: "disable"; user: UserRow }
  | { kind: "enable"; user: UserRow }
  | { kind: "totp"; user: UserRow }
  | { kind: "delete"; user: UserRow };

/** "alice's", or "your" when it is you. */
const whose = (u: UserRow, me: string) => (u.username === me ? "your" : `${u.username}'s`);

function sessionsEnd(u: UserRow, me: string) {
  return u.username === me ? (
    <p>
      This ends <strong>all of your sessions, this one included</strong>: you will be signed out and sign in again.
    </p>
  ) : (
    <p>
      This <strong>ends all of {u.username}&apos;s sessions</strong> at once; {u.username} has to sign in again.
    </p>
  );
}

export function UsersView({ me }: { me: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const users = useQuery(trpc.user.list.queryOptions());
  const [pending, setPending] = useState<Pending | null>(null);
  const [flash, setFlash] = useState<string | null>(null);
  const done = (message: string, self: boolean) => {
    setPending(null);
    setFlash(message);
    if (self) void signOut({ callbackUrl: "/signin" });
    else void qc.invalidateQueries({ queryKey: trpc.user.list.queryKey() });
  };
  const update = useMutation(trpc.user.update.mutationOptions());
  const remove = useMutation(trpc.user.remove.mutationOptions());
  const busy = update.isPending || remove.isPending;
  const error = update.error ?? remove.error;

  function confirm(p: Pending, form: FormData) {
    const self = p.user.username === me;
    const u = p.user.username;
    const opts = { onSuccess: () => done(flashText(p), self) };
    switch (p.kind) {
      case "role":
        return update.mutate({ id: p.user.id, role: p.role }, opts);
      case "password":
        return update.mutate({ id: p.user.id, password: String(form.get("password") ?? "") }, opts);
      case "disable":
        return update.mutate({ id: p.user.id, disabled: true }, opts);
      case "enable":
        return update.mutate({ id: p.user.id, disabled: false }, opts);
      case "totp":
        return update.mutate({ id: p.user.id, resetTotp: true }, opts);
      case "delete":
        return remove.mutate({ id: p.user.id }, { onSuccess: () => done(`Deleted ${u}.`, false) });
    }
  }

  const open = (p: Pending) => {
    update.reset();
    remove.reset();
    setFlash(null);
    setPending(p);
  };
  const list: UserRow[] = users.data ?? [];
  const admins = list.filter((u) => u.role === "admin" && !u.disabled).length;

  return (
    <div>
      <PageHeader title="Users" description="Who may use this console and with which role. Passwords are stored as argon2 hashes; a second factor (TOTP) is enrolled by each user on their account page." />
      {flash && (
        <Notice tone="success" className="mb-4" data-testid="users-flash">
          {flash}
        </Notice>
      )}
      <CreateUser existing={list.map((u) => u.username)} onCreated={(name) => setFlash(`Created ${name}.`)} />
      <div>
        <div className="min-w-0">
          {users.error && (
            <Notice tone="error" className="mb-4">
              {errorText(users.error)}
            </Notice>
          )}
          <Table data-testid="users-table">
            <thead className="border-b border-slate-100">
              <tr>
                <th className={thClass}>User</th>
                <th className={thClass}>Role</th>
                <th className={thClass}>Second factor</th>
                <th className={thClass}>Status</th>
                <th className={thClass}>Created</th>
                <th className={`${thClass} text-right`}>Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.length === 0 && <EmptyRow colSpan={6}>{users.isLoading ? "Loading…" : "No users."}</EmptyRow>}
              {list.map((u) => {
                const lastAdmin = u.role === "admin" && !u.disabled && admins <= 1;
                return (
                  <tr key={u.id} data-testid={`user-row-${u.username}`} className={`border-t border-slate-100 ${u.disabled ? "bg-slate-50 text-slate-500" : ""}`}>
                    <td className={`${tdClass} font-medium`}>
                      {u.username}
                      {u.username === me && (
                        <Badge tone="slate" className="ml-2 align-middle">
                          you
                        </Badge>
                      )}
                    </td>
                    <td className={tdClass}>
                      <select
                        aria-label={`Role of ${u.username}`}
                        data-testid="user-role"
                        className={`${compactInputClass} w-28`}
                        value={u.role}
                        disabled={lastAdmin}
                        title={lastAdmin ? "The last admin keeps the admin role: make another admin first" : undefined}
                        onChange={(e) => open({ kind: "role", user: u, role: e.target.value as Role })}
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td className={tdClass}>{u.totp ? <Badge tone="green">TOTP enrolled</Badge> : <span className="text-xs text-slate-500">password only</span>}</td>
                    <td className={tdClass}>{u.disabled ? <Badge tone="red">disabled</Badge> : <Badge tone="green">active</Badge>}</td>
                    <td className={`${tdClass} num whitespace-nowrap text-slate-600`} title={fmtTimeFull(u.createdAt)}>
                      {fmtTime(u.createdAt)}
                    </td>
                    <td className={`${tdClass} text-right`}>
                      <div className="flex justify-end gap-1">
                        <Button size="sm" variant="ghost" data-testid="user-reset-password" onClick={() => open({ kind: "password", user: u })}>
                          Reset password
                        </Button>
                        {u.totp && (
                          <Button size="sm" variant="ghost" data-testid="user-reset-totp" onClick={() => open({ kind: "totp", user: u })}>
                            Reset TOTP
                          </Button>
                        )}
                        {u.disabled ? (
                          <Button size="sm" variant="ghost" data-testid="user-enable" onClick={() => open({ kind: "enable", user: u })}>
                            Enable
                          </Button>
                        ) : (
                          !lastAdmin && (
                            <Button size="sm" variant="ghost" data-testid="user-disable" onClick={() => open({ kind: "disable", user: u })}>
                              Disable
                            </Button>
                          )
                        )}
                        {u.username !== me && !lastAdmin && (
                          <Button size="sm" variant="danger-ghost" data-testid="user-delete" onClick={() => open({ kind: "delete", user: u })}>
                            Delete
                          </Button>
                        )}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </Table>
          <p className="mt-3 text-xs text-slate-500">
            Roles: <strong>viewer</strong> {ROLE_CAN.viewer}; <strong>operator</strong> {ROLE_CAN.operator}; <strong>admin</strong> {ROLE_CAN.admin}.
          </p>
        </div>
      </div>

      <ConfirmDialog
        open={pending !== null}
        busy={busy}
        error={error ? errorText(error) : null}
        onCancel={() => setPending(null)}
        onConfirm={(form) => pending && confirm(pending, form)}
        tone={pending?.kind === "enable" || pending?.kind === "role" ? "primary" : "danger"}
        title={pending ? dialogTitle(pending, me) : ""}
        confirmLabel={pending ? confirmLabel(pending) : "Confirm"}
      >
        {pending && <DialogBody p={pending} me={me} />}
      </ConfirmDialog>
    </div>
  );
}

function flashText(p: Pending): string {
  const u = p.user.username;
  switch (p.kind) {
    case "role":
      return `${u} is now ${aRole(p.role)}; their sessions ended.`;
    case "password":
      return `Set a new password for ${u}; their sessions ended.`;
    case "disable":
      return `Disabled ${u}; their sessions ended.`;
    case "enable":
      return `Enabled ${u}.`;
    case "totp":
      return `Removed ${u}'s authenticator; their sessions ended.`;
    case "delete":
      return `Deleted ${u}.`;
  }
}

function dialogTitle(p: Pending, me: string): string {
  const u = p.user.username === me ? "yourself" : p.user.username;
  switch (p.kind) {
    case "role":
      return `Make ${u} ${aRole(p.role)}?`;
    case "password":
      return `Reset ${whose(p.user, me)} password`;
    case "disable":
      return `Disable ${u}?`;
    case "enable":
      return `Enable ${u}?`;
    case "totp":
      return `Reset ${whose(p.user, me)} second factor?`;
    case "delete":
      return `Delete ${u}?`;
  }
}

function confirmLabel(p: Pending): string {
  const u = p.user.username;
  switch (p.kind) {
    case "role":
      return `Make ${p.role}`;
    case "password":
      return "Set password";
    case "disable":
      return `Disable ${u}`;
    case "enable":
      return `Enable ${u}`;
    case "totp":
      return "Reset TOTP";
    case "delete":
      return `Delete ${u}`;
  }
}

function DialogBody({ p, me }: { p: Pending; me: string }) {
  const u = p.user.username;
  const [pw, setPw] = useState("");
  switch (p.kind) {
    case "role":
      return (
        <>
          <p>
            {u} goes from <strong>{p.user.role}</strong> to <strong>{p.role}</strong>: {aRole(p.role)} {ROLE_CAN[p.role]}.
          </p>
          {sessionsEnd(p.user, me)}
        </>
      );
    case "password":
      return (
        <>
          <Field label="New password" hint={`${pw.length} of at least ${PASSWORD_MIN} characters`}>
            <input name="password" type="password" autoComplete="new-password" required minLength={PASSWORD_MIN} maxLength={256} className={inputClass} value={pw} onChange={(e) => setPw(e.target.value)} data-testid="user-new-password" />
          </Field>
          {sessionsEnd(p.user, me)}
          <p className="text-slate-500">Give the new password to {p.user.username === me ? "yourself" : u} over a channel you trust. An enrolled authenticator stays.</p>
        </>
      );
    case "disable":
      return (
        <>
          <p>{u} can no longer sign in, and their account stays, with its role and audit history, until you enable or delete it.</p>
          {sessionsEnd(p.user, me)}
        </>
      );
    case "enable":
      return (
        <p>
          {u} can sign in again with their current password{p.user.totp ? " and authenticator" : ""}, as {aRole(p.user.role)}.
        </p>
      );
    case "totp":
      return (
        <>
          <p>Removes {whose(p.user, me)} authenticator: until a new one is enrolled on the account page, the password alone signs in.</p>
          {sessionsEnd(p.user, me)}
        </>
      );
    case "delete":
      return (
        <p>
          Deletes the account <strong>{u}</strong> for good and <strong>ends all of {u}&apos;s sessions</strong>. The audit log keeps {u}&apos;s entries. To keep the account for
          later, disable it instead.
        </p>
      );
  }
}

function CreateUser({ existing, onCreated }: { existing: string[]; onCreated: (name: string) => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [show, setShow] = useState(false);
  const [role, setRole] = useState<Role>("viewer");
  const create = useMutation(
    trpc.user.create.mutationOptions({
      onSuccess: () => {
        onCreated(username.trim().toLowerCase());
        setUsername("");
        setPassword("");
        setShow(false);
        setRole("viewer");
        void qc.invalidateQueries({ queryKey: trpc.user.list.queryKey() });
      },
    }),
  );
  const name = username.trim().toLowerCase();
  const nameError = name && !USERNAME_RE.test(name) ? "2 to 32 letters, digits, dots, dashes or underscores" : name && existing.includes(name) ? `${name} exists` : undefined;
  const pwShort = password.length > 0 && password.length < PASSWORD_MIN;
  return (
    <Card title="Add a user" className="mb-6" data-testid="user-create">
      <form
        className="flex flex-wrap items-start gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          if (!nameError && password.length >= PASSWORD_MIN) create.mutate({ username: name, password, role });
        }}
      >
        <Field label="Username" error={nameError} className="w-52">
          <input name="username" autoComplete="off" required maxLength={32} className={inputClass} value={username} onChange={(e) => setUsername(e.target.value)} spellCheck={false} />
        </Field>
        <Field label="Password" className="w-80" error={pwShort ? `at least ${PASSWORD_MIN} characters (${password.length} so far)` : undefined} hint={`At least ${PASSWORD_MIN} characters.`}>
          <div className="flex gap-2">
            <input
              name="password"
              type={show ? "text" : "password"}
              autoComplete="new-password"
              required
              minLength={PASSWORD_MIN}
              maxLength={256}
              className={`${inputClass} ${show ? "font-mono" : ""}`}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            <Button
              size="sm"
              onClick={() => {
                setPassword(randomPassword());
                setShow(true);
              }}
              title="Fill in a random 20-character password and show it"
            >
              Generate
            </Button>
          </div>
        </Field>
        <Field label="Role" className="w-40">
          <select name="role" className={selectClass} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </Field>
        <div className="pt-6">
          <Button type="submit" variant="primary" className="h-[38px]" disabled={create.isPending || Boolean(nameError) || password.length < PASSWORD_MIN || !name} data-testid="user-create-submit">
            {create.isPending ? "Creating…" : "Create user"}
          </Button>
        </div>
        <p className="basis-full text-xs text-slate-500">{`${aRole(role)[0]!.toUpperCase()}${aRole(role).slice(1)}`} {ROLE_CAN[role]}.</p>
        {create.error && (
          <Notice tone="error" className="basis-full">
            {errorText(create.error)}
          </Notice>
        )}
      </form>
    </Card>
  );
}

/** 20 characters from an unambiguous alphabet (about 115 bits), from the browser's CSPRNG. */
function randomPassword(): string {
  const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const out: string[] = [];
  const buf = new Uint8Array(1);
  while (out.length < 20) {
    crypto.getRandomValues(buf);
    const b = buf[0]!;
    if (b < 224) out.push(alphabet[b % alphabet.length]!); // 224 = 4 × 56: no modulo bias
  }
  return out.join("");
}
