/** A tRPC error in words: the zod issues when the input was refused, else the server's message. */
export function errorText(e: unknown): string {
  if (!e) return "";
  const err = e as { message?: string; data?: { zodIssues?: string[]; code?: string } | null };
  const issues = err.data?.zodIssues;
  if (issues && issues.length > 0) return issues.join("; ");
  return err.message || "Something went wrong.";
}
