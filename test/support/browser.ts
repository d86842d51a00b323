// A headless Chromium for the browser tests (Debian's chromium, driven by npm's playwright-core).
// A test that needs it skips with a message naming the package when it is missing.
import { existsSync } from 'node:fs';
import { test as nodeTest } from 'node:test';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian installs Chromium; DRAWBRIDGE_CHROMIUM names another. */
export const CHROMIUM = process.env.DRAWBRIDGE_CHROMIUM || '/usr/bin/chromium';

/** Why a browser test cannot run here; false when it can. */
export function chromiumMissing(): string | false {
  return existsSync(CHROMIUM) ? false : `needs Chromium at ${CHROMIUM} (Debian package chromium)`;
}

/** node:test's `test`, skipped with a message naming the package when Chromium is missing. */
export const testNeedingChromium: typeof nodeTest = ((name: string, fn: () => Promise<void>) => {
  const why = chromiumMissing();
  return why ? nodeTest(name, { skip: why }, () => {}) : nodeTest(name, fn);
}) as typeof nodeTest;

/** A headless Chromium; close it when done. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
  });
}
