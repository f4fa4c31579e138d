import { existsSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * The real browser for the browser suites: Debian's `chromium` driven by
 * playwright-core (no downloaded browser build). `.ci/run` installs it, so in
 * CI (CI=true) a missing browser is a failure; on a developer machine without
 * it the suite says so plainly and its tests fail rather than pass unseen.
 */

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(): string | undefined {
  return CANDIDATES.find((p): p is string => !!p && existsSync(p));
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) {
    throw new Error(
      'chromium is not installed: run `apt-get install -y chromium` (as root) or set CHROMIUM_PATH; .ci/run installs it',
    );
  }
  // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** Where screenshots go: test artifacts, ignored by git. */
export function artifactDir(...parts: string[]): string {
  const dir = path.resolve('.data/test-artifacts', ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A CDP virtual authenticator on the page, as a platform authenticator with
 * resident keys and user verification (a phone's or laptop's passkeys).
 */
export async function addVirtualAuthenticator(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
}
