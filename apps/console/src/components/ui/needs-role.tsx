/**
 * What a page shows instead of its content to a user whose role is too low (the API refuses them anyway; this
 * only saves a page of errors). Renders on the server.
 */
import { Notice } from "./notice";

type Role = "viewer" | "operator" | "admin";

export function NeedsRole({ need, role, what }: { need: Role; role: Role; what: string }) {
  return (
    <Notice tone="warn" title={`This page needs the ${need} role`} data-testid="needs-role">
      {what} is available to {need === "admin" ? "administrators" : `users with the ${need} role or above`} only. You are signed in as {role === "admin" ? "an" : "a"} {role}; ask an
      administrator if you need access.
    </Notice>
  );
}

/** Admins without a second factor while CONSOLE_REQUIRE_ADMIN_TOTP is on: admin procedures refuse them. */
export function NeedsTotp({ what }: { what: string }) {
  return (
    <Notice tone="warn" title="Enrol a second factor first" data-testid="needs-totp">
      {what} needs an administrator with an authenticator (TOTP) on this console.{" "}
      <a className="font-medium underline" href="/account">
        Set one up on your account page
      </a>
      .
    </Notice>
  );
}
