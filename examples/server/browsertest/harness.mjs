// What the browser test scripts share (run.mjs, passkeys.mjs): Chromium
// launched headless as the project launches it, and a runner of tests, each
// in a fresh browser context, that fails a test whose pages report a CSP
// refusal or an uncaught error, prints TAP-like lines and exits non-zero
// when any test failed.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

export const TIMEOUT = 15000;

// launch starts the Chromium at executablePath.
export function launch(executablePath) {
  return chromium.launch({
    executablePath,
    headless: true,
    // Playwright gives the browser a fresh --user-data-dir of its own.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

// run runs tests ({name, fn(context)}) in browser, then closes it.
export async function run(browser, tests) {
  let failed = 0;
  for (const t of tests) {
    const context = await browser.newContext();
    context.setDefaultTimeout(TIMEOUT);
    const problems = [];
    context.on("console", (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) {
        problems.push(`CSP: ${m.text()}`);
      }
    });
    context.on("weberror", (e) => problems.push(`page error: ${e.error().message}`));
    try {
      await t.fn(context);
      assert.deepEqual(problems, [], "the pages reported problems");
      console.log(`ok - ${t.name}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${t.name}\n${e.stack}`);
    } finally {
      await context.close();
    }
  }
  await browser.close();
  if (failed) {
    console.log(`# ${failed} of ${tests.length} failed`);
    process.exit(1);
  }
  console.log(`# all passed (${tests.length} tests)`);
}
