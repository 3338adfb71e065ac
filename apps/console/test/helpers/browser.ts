/**
 * A real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) in a fresh profile dir, and
 * the few steps the browser tests share. `close()` ends the browser it started and removes the profile.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export interface Browser {
  context: BrowserContext;
  page: Page;
  /**
   * What went wrong in the page since the last call: uncaught errors, console errors (a CSP violation is one),
   * and responses of 400 and above ("403 POST /api/trpc/…"; a missing /favicon.ico aside).
   */
  takeErrors(): string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (npm test does it)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "director-console-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      ignoreHTTPSErrors: true,
      viewport: { width: 1400, height: 900 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  let errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // "Failed to load resource" names no URL: the response handler below reports those, with theirs.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (r.status() >= 400 && u.pathname !== "/favicon.ico") errors.push(`${r.status()} ${r.request().method()} ${u.pathname}`);
  });
  return {
    context,
    page,
    takeErrors() {
      const e = errors;
      errors = [];
      return e;
    },
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in through the sign-in form as `username` (any previous session cookie dropped first). */
export async function signInAs(b: Browser, base: string, username: string, password: string): Promise<void> {
  await b.context.clearCookies();
  const { page } = b;
  await page.goto(`${base}/signin`);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await page.locator('button[type="submit"]').click();
  await page.waitForURL(`${base}/`);
  await page.getByTestId("whoami").filter({ hasText: username }).waitFor();
}

/** The signed-in page's session cookie value. */
export async function sessionCookieOf(b: Browser): Promise<string | undefined> {
  return (await b.context.cookies()).find((c) => c.name === "__Secure-next-auth.session-token")?.value;
}
