// Browser tests of the demo page's sign-in through another provider
// (OpenID Connect) in headless Chromium, with playwright-core, against
// zitadel/oidc's example provider. TestBrowserOIDC
// (../oidc_browser_test.go) starts both and runs this with:
//
//   BASE      the example server (its AUTH_PUBLIC_URL), http://localhost:PORT,
//             whose provider "zitadel" is labelled "Zitadel"
//   ISSUER    the provider, http://127.0.0.1:PORT, whose accounts ada, tom
//             and lin (their login names at its form) have the password
//             PROVIDER_PASSWORD
//   CLOCK     the test's hook on BASE's test clock: GET reads it (Unix
//             seconds), POST ?advance=30s moves it forward
//   CHROMIUM  the browser's executable
//   SCREENSHOTS where the demo page's screenshots go
//
// Pages are driven as a user would: the provider's link on the demo page by
// its label, the provider's login form by its labels, the demo page's
// second-factor step and its signed-in view by the contract's names. Every
// test gets a fresh browser context; any Content-Security-Policy violation
// or page error fails it. It prints "ok - NAME" or "not ok - NAME" per
// test, and "# all passed" at the end.
import assert from "node:assert/strict";
import path from "node:path";
import { launch, run } from "./harness.mjs";
import { totp } from "./totp.mjs";

const { BASE, ISSUER, PROVIDER_PASSWORD, CLOCK, CHROMIUM, SCREENSHOTS } = process.env;

const browser = await launch(CHROMIUM);

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const PASSWORD = "correct horse battery staple";

// --- helpers ---

function byLabel(page, label) {
  return page.getByLabel(label, { exact: true });
}

function button(page, name) {
  return page.getByRole("button", { name, exact: true });
}

function providerLink(page) {
  return page.getByRole("link", { name: "Zitadel", exact: true });
}

async function signedIn(page, username) {
  await page.getByText(`Signed in as ${username}`, { exact: true }).waitFor();
}

async function signedOut(page) {
  await button(page, "Log in").waitFor();
}

async function sessionCookie(context) {
  return (await context.cookies(BASE + "/session/refresh")).find((c) => c.name === "__Host-refresh_token");
}

async function message(page) {
  const status = page.getByRole("status");
  await status.filter({ hasText: /./ }).waitFor();
  return (await status.innerText()).trim();
}

async function errorShown(page) {
  await page.locator("#status.error").filter({ hasText: /./ }).waitFor();
  return message(page);
}

function claims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

// serverNow returns the time of BASE's test clock (Unix seconds), after
// moving it forward by advance (a Go duration, "30s") if given.
async function serverNow(advance) {
  const res = advance ? await fetch(`${CLOCK}/?advance=${advance}`, { method: "POST" }) : await fetch(CLOCK);
  assert.equal(res.status, 200, `the clock hook: ${res.status}`);
  return Number(await res.text());
}

// catchUp moves the server's test clock, which stands still, to the real
// time if it is behind: the provider dates its ID tokens by the real
// clock, and the server refuses one issued more than 30 s after its now.
async function catchUp() {
  const behind = Math.floor(Date.now() / 1000) - await serverNow();
  if (behind > 0) {
    await serverNow(`${behind}s`);
  }
}

// atProvider logs in at the provider's login form, where the page has
// just been sent, as name.
async function atProvider(page, name) {
  await page.waitForURL((u) => u.href.startsWith(ISSUER + "/login/username?"));
  await byLabel(page, "Username:").fill(name);
  await byLabel(page, "Password:").fill(PROVIDER_PASSWORD);
  await catchUp();
  await button(page, "Login").click();
}

// viaProvider signs in on the demo page through the provider, as name.
async function viaProvider(page, name) {
  await page.goto(BASE + "/");
  await providerLink(page).click();
  await atProvider(page, name);
}

// identity is the signed-in view's item of the provider's account.
function identity(page) {
  return page.getByRole("list", { name: "Other providers", exact: true }).getByRole("listitem").filter({ hasText: "Zitadel" });
}

// --- the tests ---

test("provider sign-in: a new account, again, its last way in kept", async (context) => {
  const page = await context.newPage();
  await page.goto(BASE + "/");
  await signedOut(page);
  const link = providerLink(page);
  assert.equal(new URL(await link.getAttribute("href"), BASE + "/").href, BASE + "/login/zitadel");
  await page.screenshot({ path: path.join(SCREENSHOTS, "demo-providers-signed-out.png"), fullPage: true });
  await link.click();
  await atProvider(page, "ada");
  await signedIn(page, "ada");
  assert.equal(page.url(), BASE + "/");
  await page.getByText("Email: ada@example.com (verified)", { exact: true }).waitFor();
  assert.ok(await sessionCookie(context), "no session cookie");
  await identity(page).getByText("ada@example.com", { exact: false }).waitFor();
  assert.equal(await button(page, "Link Zitadel").count(), 0, "a link offered for a provider linked");
  await page.screenshot({ path: path.join(SCREENSHOTS, "demo-providers-signed-in.png"), fullPage: true });
  // The provider account is the account's only way in: it stays.
  await identity(page).getByRole("button", { name: "Unlink", exact: true }).click();
  assert.match(await errorShown(page), /last way to sign in/);
  await identity(page).waitFor();
  // A reload keeps the user signed in; a second sign-in finds the account.
  await page.reload();
  await signedIn(page, "ada");
  await button(page, "Log out").click();
  await signedOut(page);
  await viaProvider(page, "ada");
  await signedIn(page, "ada");
});

test("provider sign-in: a user with two-factor authentication gives a code", async (context) => {
  const page = await context.newPage();
  await viaProvider(page, "tom");
  await signedIn(page, "tom");
  // Without a password, the recent sign-in is enough to set it up.
  await button(page, "Set up two-factor authentication").click();
  const secret = (await page.getByText(/^[A-Z2-7]{16,}$/).innerText()).trim();
  let now = await serverNow();
  await byLabel(page, "Authentication code").fill(totp(secret, now));
  await button(page, "Confirm").click();
  await button(page, "Done").click();
  await page.getByText("Two-factor authentication is on. 10 recovery codes left.").waitFor();
  await button(page, "Log out").click();
  await signedOut(page);

  // The provider, then the second-factor step, the mfa_token out of the
  // address at once.
  await serverNow("30s");
  await viaProvider(page, "tom");
  await byLabel(page, "Authentication code").waitFor();
  assert.equal(page.url(), BASE + "/", "the mfa_token stays in the address");
  assert.ok(!(await page.evaluate(() => location.hash)), "a fragment is left");
  assert.equal(await sessionCookie(context), undefined, "a cookie before the second factor");
  now = await serverNow();
  const answer = page.waitForResponse((r) => r.url() === BASE + "/session/mfa");
  await byLabel(page, "Authentication code").fill(totp(secret, now));
  await button(page, "Verify").click();
  await signedIn(page, "tom");
  const r = await answer;
  assert.equal(r.status(), 200);
  assert.deepEqual(claims((await r.json()).access_token).amr, ["fed", "otp", "mfa"]);
  assert.ok(await sessionCookie(context), "no cookie after the second factor");
  // The address kept no token: going back does not show it again.
  await page.reload();
  await signedIn(page, "tom");
});

test("link and unlink a provider account from the signed-in view", async (context) => {
  const page = await context.newPage();
  const username = `lin${process.pid}`;
  await page.goto(BASE + "/");
  await byLabel(page, "Username").fill(username);
  await byLabel(page, "Password").fill(PASSWORD);
  await button(page, "Sign up").click();
  await signedIn(page, username);
  await page.getByText("No account of another provider is linked to this one.").waitFor();

  // Link: the provider, and back, still signed in, the account linked.
  await button(page, "Link Zitadel").click();
  await atProvider(page, "lin");
  await signedIn(page, username);
  await identity(page).waitFor();
  assert.equal(await button(page, "Link Zitadel").count(), 0, "a link offered for a provider linked");

  // It signs in.
  await button(page, "Log out").click();
  await signedOut(page);
  await viaProvider(page, "lin");
  await signedIn(page, username);

  // Unlink: the account has a password.
  await identity(page).getByRole("button", { name: "Unlink", exact: true }).click();
  assert.equal(await message(page), "Zitadel unlinked.");
  await button(page, "Link Zitadel").waitFor();
  assert.equal(await identity(page).count(), 0, "the identity is still listed");

  // A link needs a recent sign-in.
  await serverNow("5m");
  await button(page, "Link Zitadel").click();
  assert.match(await errorShown(page), /recent sign-in/);
  assert.equal(page.url(), BASE + "/");
});

test("a failed provider sign-in: the failure page, back to the demo page", async (context) => {
  const page = await context.newPage();
  const res = await page.goto(BASE + "/login/zitadel/callback?code=forged&state=forged");
  assert.equal(res.status(), 400);
  await page.getByRole("heading", { name: "Sign-in failed" }).waitFor();
  await page.getByRole("link", { name: "Back to the sign-in page" }).click();
  await signedOut(page);
  assert.equal(await sessionCookie(context), undefined);
});

await run(browser, tests);
