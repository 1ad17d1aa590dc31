// Browser tests of the example server in headless Chromium, with
// playwright-core. TestBrowser (../browser_test.go) starts the servers and
// runs this with:
//
//   BASE              the example server (its AUTH_PUBLIC_URL)
//   APP               a page's origin listed in AUTH_CORS_ORIGINS, on the same site
//   EVIL_SAME_SITE    an attacker's page on another origin of the same site
//   EVIL_CROSS_SITE   an attacker's page on another site (localhost)
//   SIBLING           a second example server, at http://auth.test.localhost:PORT
//   SIBLING_EVIL      an attacker's page on a sibling host of it (evil.test.localhost)
//   OUTBOX            the server's outbox directory (its mails)
//   CLOCK             the test's hook on BASE's test clock: GET reads it (Unix
//                     seconds), POST ?advance=30s moves it forward
//   CHROMIUM          the browser's executable
//   SCREENSHOTS       where the demo page's screenshots go
//
// Pages are driven as a user (and the hidden suite) would: by the labels and
// button names of the contract. Every test gets a fresh browser context;
// any Content-Security-Policy violation or page error fails it. It prints
// "ok - NAME" or "not ok - NAME" per test, and "# all passed" at the end.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { launch, run, TIMEOUT } from "./harness.mjs";
import { base32Decode, totp } from "./totp.mjs";

const { BASE, APP, EVIL_SAME_SITE, EVIL_CROSS_SITE, SIBLING, SIBLING_EVIL, OUTBOX, CLOCK, CHROMIUM, SCREENSHOTS } = process.env;

const browser = await launch(CHROMIUM);

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

let serial = 0;
const unique = (prefix) => `${prefix}${process.pid}x${++serial}`;
const PASSWORD = "correct horse battery staple";

// --- helpers ---

function byLabel(page, label) {
  return page.getByLabel(label, { exact: true });
}

function button(page, name) {
  return page.getByRole("button", { name, exact: true });
}

async function signUp(page, username, email, base = BASE) {
  await page.goto(base + "/");
  await byLabel(page, "Username").fill(username);
  if (email) {
    await byLabel(page, "Email").fill(email);
  }
  await byLabel(page, "Password").fill(PASSWORD);
  await button(page, "Sign up").click();
  await page.getByText(`Signed in as ${username}`, { exact: true }).waitFor();
}

async function logIn(page, name, password = PASSWORD) {
  await page.goto(BASE + "/");
  await byLabel(page, "Username").fill(name);
  await byLabel(page, "Password").fill(password);
  await button(page, "Log in").click();
}

async function signedIn(page, username) {
  await page.getByText(`Signed in as ${username}`, { exact: true }).waitFor();
}

async function signedOut(page) {
  await button(page, "Log in").waitFor();
}

// latestLink waits for a mail to `to` holding a link to BASE/kind and
// returns the newest such link.
async function latestLink(kind, to, notThis) {
  const re = new RegExp(`${BASE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/${kind}\\?token=[A-Za-z0-9_-]+`);
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    const files = fs.existsSync(OUTBOX) ? fs.readdirSync(OUTBOX).filter((f) => f.endsWith(".eml") && !f.startsWith(".")).sort() : [];
    for (const f of files.reverse()) {
      const raw = fs.readFileSync(path.join(OUTBOX, f), "utf8");
      if (!raw.includes(`<${to}>`)) {
        continue;
      }
      const m = raw.match(re);
      if (m && m[0] !== notThis) {
        return m[0];
      }
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${kind} link mailed to ${to}`);
}

async function sessionCookie(context, base = BASE) {
  return (await context.cookies(base + "/session/refresh")).find((c) => c.name === "__Host-refresh_token");
}

// serverNow returns the time of BASE's test clock (Unix seconds), after
// moving it forward by advance (a Go duration, "30s") if given. The clock
// stands still otherwise, so that a code computed for it stays the
// server's current one however slowly the browser goes.
async function serverNow(advance) {
  const res = advance ? await fetch(`${CLOCK}/?advance=${advance}`, { method: "POST" }) : await fetch(CLOCK);
  assert.equal(res.status, 200, `the clock hook: ${res.status}`);
  return Number(await res.text());
}

// wrongCode is a 6-digit code that the server does not accept for secret
// at now: none of the steps the server accepts (the previous, the current
// and the next).
function wrongCode(secret, now) {
  const accepted = [-30, 0, 30].map((d) => totp(secret, now + d));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, "0");
    if (!accepted.includes(code)) {
      return code;
    }
  }
}

// --- the tests ---

test("demo page: sign up, the cookie, reload, log out, log in by email", async (context) => {
  const page = await context.newPage();
  await page.goto(BASE + "/");
  await signedOut(page);
  await page.screenshot({ path: path.join(SCREENSHOTS, "demo-signed-out.png") });
  const username = "alice"; // the first test of a fresh server: the name is free

  const email = `${username}@example.com`;
  await signUp(page, username, email);
  await page.getByText(`Email: ${email} (not verified yet)`).waitFor();
  await page.screenshot({ path: path.join(SCREENSHOTS, "demo-signed-in.png") });

  const c = await sessionCookie(context);
  assert.ok(c, "no __Host-refresh_token cookie");
  assert.equal(c.httpOnly, true);
  assert.equal(c.secure, true);
  assert.equal(c.sameSite, "Strict");
  assert.equal(c.path, "/");
  const device = (await context.cookies(BASE)).find((c) => c.name === "__Host-device");
  assert.ok(device, "no __Host-device cookie");
  assert.deepEqual([device.httpOnly, device.secure, device.sameSite, device.path], [true, true, "Strict", "/"]);
  assert.ok(device.expires - Date.now() / 1000 > 29 * 24 * 3600, "the device cookie lives less than 30 days");
  assert.equal(await page.evaluate(() => document.cookie), "", "a script can read a cookie");
  assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0, "the page keeps tokens in storage");

  await page.reload();
  await signedIn(page, username);

  await button(page, "Log out").click();
  await signedOut(page);
  assert.equal(await sessionCookie(context), undefined, "the cookie outlived the logout");
  await page.reload();
  await signedOut(page);

  await logIn(page, email.toUpperCase());
  await signedIn(page, username);
});

test("two tabs reloading at once both stay signed in", async (context) => {
  const first = await context.newPage();
  const username = unique("bob");
  await signUp(first, username);
  const second = await context.newPage();
  await second.goto(BASE + "/");
  await signedIn(second, username);
  for (let round = 0; round < 3; round++) {
    await Promise.all([first.reload(), second.reload()]);
    await Promise.all([signedIn(first, username), signedIn(second, username)]);
  }
});

test("log out everywhere ends the other device's session", async (context) => {
  const page = await context.newPage();
  const username = unique("carol");
  await signUp(page, username);
  const other = await browser.newContext();
  try {
    const otherPage = await other.newPage();
    await logIn(otherPage, username);
    await signedIn(otherPage, username);
    await button(page, "Log out everywhere").click();
    await signedOut(page);
    await otherPage.reload();
    await signedOut(otherPage);
  } finally {
    await other.close();
  }
});

test("change password", async (context) => {
  const page = await context.newPage();
  const username = unique("dave");
  await signUp(page, username);
  await byLabel(page, "Current password").fill("not the password");
  await byLabel(page, "New password").fill("a brand new passphrase");
  await button(page, "Change password").click();
  await page.getByText("the current password is wrong").waitFor();
  await byLabel(page, "Current password").fill(PASSWORD);
  await button(page, "Change password").click();
  await signedOut(page);
  await logIn(page, username, "a brand new passphrase");
  await signedIn(page, username);
});

test("forgot password, then the reset page", async (context) => {
  const page = await context.newPage();
  const username = unique("erin");
  const email = `${username}@example.com`;
  await signUp(page, username, email);
  await button(page, "Log out").click();
  await signedOut(page);

  await page.getByRole("link", { name: "Forgot password?", exact: true }).click();
  // The sign-in form has an Email field too: wait for the forgot form.
  await button(page, "Send reset link").waitFor();
  await byLabel(page, "Email").fill(email);
  await button(page, "Send reset link").click();
  await page.getByRole("status").filter({ hasText: "If an account has this address" }).waitFor();
  const link = await latestLink("reset-password", email);

  // Opening the link twice (a mail scanner, then the user) spends nothing.
  const scanner = await context.request.get(link);
  assert.equal(scanner.status(), 200);
  await page.goto(link);
  await byLabel(page, "New password").fill("short");
  await button(page, "Set password").click();
  await page.getByText("at least 8 characters").waitFor();
  await byLabel(page, "New password").fill("a reset passphrase");
  await button(page, "Set password").click();
  await page.getByText("Your password is set").waitFor();

  // The link is spent.
  const again = await context.newPage();
  await again.goto(link);
  await byLabel(again, "New password").fill("yet another passphrase");
  await button(again, "Set password").click();
  await again.getByText("no longer valid").waitFor();

  await logIn(page, username, "a reset passphrase");
  await signedIn(page, username);
  await page.getByText(`Email: ${email} (verified)`).waitFor();
});

test("the verification page", async (context) => {
  const page = await context.newPage();
  const username = unique("frank");
  const email = `${username}@example.com`;
  await signUp(page, username, email);
  const link = await latestLink("verify-email", email);
  const tab = await context.newPage();
  await tab.goto(link);
  await button(tab, "Verify email").click();
  await tab.getByText("Your email address is verified").waitFor();
  await page.reload();
  await page.getByText(`Email: ${email} (verified)`).waitFor();
  const incomplete = await context.newPage();
  await incomplete.goto(BASE + "/verify-email");
  await incomplete.getByText("This link is incomplete").waitFor();
});

// The second factor on the demo page: set up an authenticator app (the
// codes computed here from the secret the page shows, for the server's
// test clock), then log in with a code, with a recovery code (once), and
// after the mfa_token has expired.
test("demo page: two-factor authentication", async (context) => {
  const page = await context.newPage();
  const username = unique("judy");
  await signUp(page, username);
  await page.getByText("Two-factor authentication is off").waitFor();
  // After a reload the page no longer knows the password typed at the
  // login: the set-up asks for it, and refuses a wrong one.
  await page.reload();
  await button(page, "Set up two-factor authentication").click();
  await byLabel(page, "Current password").fill("not the password");
  await button(page, "Continue").click();
  await page.getByText("the password is wrong").waitFor();
  await button(page, "Cancel").click();
  // Signed in on this page, the set-up goes straight to the QR code, as the
  // contract says: the page uses the password typed at its login.
  await button(page, "Log out").click();
  await byLabel(page, "Username").fill(username);
  await byLabel(page, "Password").fill(PASSWORD);
  await button(page, "Log in").click();
  await button(page, "Set up two-factor authentication").click();

  // The QR code, a data: image the page's policy lets it show.
  const qr = page.getByRole("img", { name: "QR code", exact: true });
  await qr.waitFor();
  assert.match(await qr.getAttribute("src"), /^data:image\/png;base64,/);
  assert.ok(await qr.evaluate((img) => img.decode().then(() => img.naturalWidth > 0, () => false)), "the QR code does not show");
  const secret = (await page.getByText(/^[A-Z2-7]{16,}$/).innerText()).trim();
  assert.ok(base32Decode(secret).length >= 20, `the secret has less than 160 bits: ${secret}`);

  // A wrong code is refused and the user may try again.
  let now = await serverNow();
  await byLabel(page, "Authentication code").fill(wrongCode(secret, now));
  await button(page, "Confirm").click();
  await page.getByText("the code is wrong").waitFor();
  await byLabel(page, "Authentication code").fill(totp(secret, now));
  await button(page, "Confirm").click();
  const list = page.getByRole("list", { name: "Recovery codes", exact: true });
  await list.waitFor();
  const codes = (await list.getByRole("listitem").allInnerTexts()).map((c) => c.trim());
  assert.equal(codes.length, 10, `recovery codes: ${codes}`);
  assert.equal(new Set(codes).size, 10, `recovery codes: ${codes}`);
  await button(page, "Done").click();
  await page.getByText("Two-factor authentication is on. 10 recovery codes left.").waitFor();
  assert.equal(await button(page, "Set up two-factor authentication").count(), 0, "the set-up is still offered");
  assert.equal(await page.getByText(codes[0]).count(), 0, "the recovery codes are still shown");
  // The confirming login goes on.
  await page.reload();
  await signedIn(page, username);
  await button(page, "Log out").click();
  await signedOut(page);

  // The password alone does not sign in. The confirming step is spent:
  // the next login needs a code of a later step.
  now = await serverNow("30s");
  await logIn(page, username);
  await byLabel(page, "Authentication code").waitFor();
  assert.equal(await sessionCookie(context), undefined, "a cookie without the second factor");
  await byLabel(page, "Authentication code").fill(wrongCode(secret, now));
  await button(page, "Verify").click();
  await page.getByText("the code is wrong").waitFor();
  await byLabel(page, "Authentication code").fill(totp(secret, now));
  await button(page, "Verify").click();
  await signedIn(page, username);
  assert.ok(await sessionCookie(context), "no cookie after the second factor");
  await page.reload();
  await signedIn(page, username);
  await page.getByText("Two-factor authentication is on. 10 recovery codes left.").waitFor();
  await button(page, "Log out").click();
  await signedOut(page);

  // A recovery code, once.
  await logIn(page, username);
  await button(page, "Use a recovery code").click();
  await byLabel(page, "Recovery code").fill(codes[0]);
  await button(page, "Verify").click();
  await signedIn(page, username);
  await page.getByText("Two-factor authentication is on. 9 recovery codes left.").waitFor();
  await button(page, "Log out").click();
  await signedOut(page);
  await logIn(page, username);
  await button(page, "Use a recovery code").click();
  await byLabel(page, "Recovery code").fill(codes[0]);
  await button(page, "Verify").click();
  await page.getByText("the code is wrong").waitFor();
  assert.equal(await sessionCookie(context), undefined, "a spent recovery code signed in");
  // The same mfa_token goes on: back and forth, then another code.
  await button(page, "Use an authentication code").click();
  await byLabel(page, "Authentication code").waitFor();
  await button(page, "Use a recovery code").click();
  await byLabel(page, "Recovery code").fill(codes[1].toLowerCase());
  await button(page, "Verify").click();
  await signedIn(page, username);
  await page.getByText("Two-factor authentication is on. 8 recovery codes left.").waitFor();
  await button(page, "Log out").click();
  await signedOut(page);

  // An mfa_token that has expired (AUTH_MFA_TOKEN_TTL, 5m) leads back to
  // the login form.
  await logIn(page, username);
  await byLabel(page, "Authentication code").waitFor();
  now = await serverNow("6m");
  await byLabel(page, "Authentication code").fill(totp(secret, now));
  await button(page, "Verify").click();
  await page.getByText("This login has expired").waitFor();
  await signedOut(page);
  assert.equal(await sessionCookie(context), undefined, "an expired mfa_token signed in");
});

for (const [where, origin] of [["the same site", EVIL_SAME_SITE], ["another site", EVIL_CROSS_SITE]]) {
  test(`an attacker's page on ${where} cannot use the victim's cookie`, async (context) => {
    const page = await context.newPage();
    const username = unique("grace");
    await signUp(page, username);
    const before = (await sessionCookie(context)).value;

    const statuses = [];
    const evil = await context.newPage();
    evil.on("response", (r) => {
      if (r.url().startsWith(BASE + "/session")) {
        statuses.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
      }
    });
    await evil.goto(`${origin}/?api=${encodeURIComponent(BASE)}`);
    await evil.waitForFunction(() => document.title === "done", null, { timeout: TIMEOUT });
    const results = await evil.evaluate(() => window.results);
    assert.equal(results.readMe, "blocked", "the attacker read /users/me");
    assert.equal(results.readRefresh, "blocked", "the attacker read a refresh answer");
    for (const s of statuses) {
      assert.match(s, / 403$/, `an attacker's request was not refused: ${s}`);
    }
    assert.ok(statuses.length >= 4, `the attacker's requests were not seen: ${statuses}`);

    // Nothing changed: the same cookie, still live.
    assert.equal((await sessionCookie(context)).value, before, "the cookie changed");
    await page.reload();
    await signedIn(page, username);
  });
}

// Cookie tossing (issue 18, finding 6): a page on a sibling host plants a
// refresh cookie for the parent domain, with a longer path so that it comes
// first, to sign the victim's browser into the attacker's account. The
// session cookie is __Host-: the browser refuses one with a Domain, and
// the server ignores every other name.
test("a page on a sibling host cannot plant a session cookie", async (context) => {
  const victim = unique("victim");
  const page = await context.newPage();
  await signUp(page, victim, undefined, SIBLING);
  const before = (await sessionCookie(context, SIBLING)).value;

  // The attacker's own login, from his own browser.
  const other = await browser.newContext();
  let stolen;
  try {
    const p = await other.newPage();
    await p.goto(SIBLING + "/");
    stolen = await p.evaluate(async (password) => {
      const username = "mallory" + Math.random().toString(36).slice(2, 10);
      await fetch("/signup", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }) });
      const res = await fetch("/token", { method: "POST", body: new URLSearchParams({ username, password }) });
      return (await res.json()).refresh_token;
    }, PASSWORD);
  } finally {
    await other.close();
  }
  assert.ok(stolen, "the attacker got no refresh token");

  const evil = await context.newPage();
  await evil.goto(SIBLING_EVIL + "/");
  await evil.evaluate((token) => {
    for (const c of [
      `refresh_token=${token}; Domain=test.localhost; Path=/session/refresh; Secure; SameSite=Strict`,
      `refresh_token=${token}; Domain=test.localhost; Path=/; Secure; SameSite=Strict`,
      `__Host-refresh_token=${token}; Domain=test.localhost; Path=/; Secure; SameSite=Strict`,
      `__Host-refresh_token=${token}; Domain=test.localhost; Path=/session/refresh; Secure; SameSite=Strict`,
    ]) {
      document.cookie = c;
    }
  }, stolen);
  const seen = await context.cookies(SIBLING + "/session/refresh");
  assert.ok(seen.some((c) => c.name === "refresh_token" && c.value === stolen),
    "the browser did not keep the planted cookie of another name: the test proves nothing");
  assert.ok(!seen.some((c) => c.name === "__Host-refresh_token" && c.value === stolen), "the browser took a __Host- cookie with a Domain");

  await page.reload();
  await signedIn(page, victim);
  assert.notEqual((await sessionCookie(context, SIBLING)).value, before, "the page did not refresh its session");
});

test("an app of AUTH_CORS_ORIGINS on the same site uses the cookie flow", async (context) => {
  const username = unique("heidi");
  const page = await context.newPage();
  await page.goto(`${APP}/`);
  const r = await page.evaluate(async ({ api, username, password }) => {
    const out = {};
    const json = { "Content-Type": "application/json" };
    let res = await fetch(api + "/signup", { method: "POST", headers: json, body: JSON.stringify({ username, password }) });
    out.signup = res.status;
    res = await fetch(api + "/session", { method: "POST", credentials: "include", headers: json, body: JSON.stringify({ username, password }) });
    out.login = res.status;
    const token = (await res.json()).access_token;
    res = await fetch(api + "/users/me", { headers: { Authorization: "Bearer " + token } });
    out.me = res.status;
    out.username = (await res.json()).username;
    res = await fetch(api + "/session/refresh", { method: "POST", credentials: "include" });
    out.refresh = res.status;
    out.refreshed = !!(await res.json()).access_token;
    res = await fetch(api + "/session/logout", { method: "POST", credentials: "include" });
    out.logout = res.status;
    res = await fetch(api + "/session/refresh", { method: "POST", credentials: "include" });
    out.afterLogout = res.status;
    return out;
  }, { api: BASE, username, password: PASSWORD });
  assert.deepEqual(r, { signup: 201, login: 200, me: 200, username, refresh: 200, refreshed: true, logout: 204, afterLogout: 401 });
});

test("/docs: Authorize with the password flow, then try GET /users/me", async (context) => {
  const username = unique("ivan");
  const setup = await context.newPage();
  await signUp(setup, username);
  await setup.close();

  const page = await context.newPage();
  await page.goto(BASE + "/docs");
  await page.locator(".swagger-ui .info .title").waitFor();
  await page.locator(".auth-wrapper .authorize").click();
  const dialog = page.locator(".dialog-ux .modal-ux");
  await dialog.locator("#oauth_username").fill(username);
  await dialog.locator("#oauth_password").fill(PASSWORD);
  await dialog.locator("button.modal-btn.authorize").click(); // "Authorize"
  await dialog.locator("button.modal-btn", { hasText: "Logout" }).waitFor();
  await dialog.locator("button.modal-btn", { hasText: "Close" }).click();

  const op = page.locator("#operations-default-currentUser");
  await op.locator(".opblock-summary").click();
  const tryIt = op.getByRole("button", { name: "Try it out" });
  if (await tryIt.count()) {
    await tryIt.click();
  }
  await op.getByRole("button", { name: "Execute" }).click();
  const status = op.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor();
  assert.equal((await status.innerText()).trim(), "200");
  await op.locator(".live-responses-table").getByText(`"username": "${username}"`).waitFor();
});

// --- run ---

await run(browser, tests);
