// Browser tests of the demo page's passkeys in headless Chromium, with
// playwright-core and the DevTools WebAuthn domain (a virtual
// authenticator in each page: a platform authenticator, as a laptop's or a
// phone's, with resident keys and user verification).
// TestBrowserPasskeys (../passkey_browser_test.go) starts the server and
// runs this with:
//
//   BASE      the example server (its AUTH_PUBLIC_URL), at http://localhost:PORT:
//             the relying party is its host, and an IP address cannot be one
//   RP_NAME   the server's AUTH_PASSKEY_RP_NAME
//   CLOCK     the test's hook on BASE's test clock: GET reads it (Unix
//             seconds), POST ?advance=30s moves it forward
//   CHROMIUM  the browser's executable
//   OUTBOX    the server's outbox directory (its mails)
//   SCREENSHOTS where the demo page's screenshots go
//
// Pages are driven as a user would, by the labels and button names of the
// contract; what a page cannot do (replay a ceremony, use one of another
// kind) is done by fetch from the page, with the browser's own WebAuthn.
// Chromium's virtual authenticators answer a conditional request (passkey
// autofill) at once, without waiting for the user to pick a suggestion: so
// every test but the autofill ones makes the browser say that it has no
// conditional mediation, as a browser without passkey autofill does, and
// uses the page's buttons. Every test gets a fresh browser context; any
// Content-Security-Policy violation or page error fails it. It prints
// "ok - NAME" or "not ok - NAME" per test, and "# all passed" at the end.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { launch, run, TIMEOUT } from "./harness.mjs";
import { totp } from "./totp.mjs";

const { BASE, RP_NAME, CLOCK, CHROMIUM, OUTBOX, SCREENSHOTS } = process.env;
const RP_ID = new URL(BASE).hostname;

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

async function signedIn(page, username) {
  await page.getByText(`Signed in as ${username}`, { exact: true }).waitFor();
}

async function signedOut(page) {
  await button(page, "Log in").waitFor();
}

async function sessionCookie(context) {
  return (await context.cookies(BASE + "/session/refresh")).find((c) => c.name === "__Host-refresh_token");
}

// message is the text of the page's message area once it says something.
async function message(page) {
  const status = page.getByRole("status");
  await status.filter({ hasText: /./ }).waitFor();
  return (await status.innerText()).trim();
}

// errorShown waits for the message area to show an error, and returns it.
async function errorShown(page) {
  await page.locator("#status.error").filter({ hasText: /./ }).waitFor();
  return message(page);
}

// claims decodes the payload of a JWT.
function claims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

// url turns the base64 of the DevTools protocol into base64url, as the
// page and the server write credential ids, and back.
const url = (b64) => b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const std = (b64url) => Buffer.from(b64url, "base64url").toString("base64");

// recorder is an init script: it records the page's WebAuthn requests in
// window.webauthnCalls ({kind: "get" or "create", mediation, signal,
// conditionalAborted: whether every earlier conditional request had been
// aborted when this one was made, settled: "resolved" or the name of the
// exception, once it is}) and its Signal API calls in
// window.signals ({name, arg}). Unless o.conditional, the browser says it
// has no conditional mediation; with o.holdConditional, a conditional
// request waits until it is aborted, as a real browser's does until the
// user picks a passkey (Chromium's virtual authenticators answer it at
// once). With o.noJSON, the browser lacks parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON and toJSON, as older ones do.
function recorder(o) {
  window.webauthnCalls = [];
  window.signals = [];
  if (!window.isSecureContext || !window.PublicKeyCredential) {
    return; // about:blank, before the page
  }
  const container = navigator.credentials;
  for (const kind of ["get", "create"]) {
    const real = container[kind].bind(container);
    container[kind] = (options) => {
      const mediation = (options && options.mediation) || "modal";
      const conditionalAborted = window.webauthnCalls.filter((c) => c.mediation === "conditional").every((c) => c.signal && c.signal.aborted);
      const call = { kind, mediation, signal: options && options.signal, conditionalAborted, settled: null };
      window.webauthnCalls.push(call);
      const p = mediation === "conditional" && o.holdConditional
        ? new Promise((resolve, reject) => {
          options.signal.addEventListener("abort", () => reject(options.signal.reason));
        })
        : real(options);
      p.then(() => { call.settled = "resolved"; }, (e) => { call.settled = e.name; });
      return p;
    };
  }
  for (const name of ["signalUnknownCredential", "signalAllAcceptedCredentials"]) {
    const real = PublicKeyCredential[name];
    if (real) {
      PublicKeyCredential[name] = function (arg) {
        window.signals.push({ name, arg: JSON.parse(JSON.stringify(arg)) });
        return real.call(PublicKeyCredential, arg);
      };
    }
  }
  if (!o.conditional) {
    PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
  }
  if (o.noJSON) {
    delete PublicKeyCredential.parseCreationOptionsFromJSON;
    delete PublicKeyCredential.parseRequestOptionsFromJSON;
    delete PublicKeyCredential.prototype.toJSON;
  }
}

// calls returns the page's WebAuthn requests so far, as "get conditional",
// "get modal", "create modal".
async function calls(page) {
  return page.evaluate(() => window.webauthnCalls.map((c) => `${c.kind} ${c.mediation}`));
}

async function signals(page) {
  return page.evaluate(() => window.signals);
}

// newPage opens a page of context with a virtual authenticator of its own
// (the DevTools WebAuthn domain), before it loads anything.
async function newPage(context) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  const deleted = [];
  cdp.on("WebAuthn.credentialDeleted", (e) => deleted.push(url(e.credentialId)));
  const authenticator = {
    // deleted are the ids (base64url) of the credentials that the browser
    // removed (the Signal API).
    deleted,
    // credentials are those it holds, with their ids in base64url as id.
    async credentials() {
      const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      return credentials.map((c) => ({ ...c, id: url(c.credentialId) }));
    },
    async remove(id) {
      await cdp.send("WebAuthn.removeCredential", { authenticatorId, credentialId: std(id) });
    },
    async add(credential) {
      const { id, ...c } = credential;
      await cdp.send("WebAuthn.addCredential", { authenticatorId, credential: c });
    },
    async set(id, properties) {
      await cdp.send("WebAuthn.setCredentialProperties", { authenticatorId, credentialId: std(id), ...properties });
    },
    // override sets the bits that spoil its answers (isBogusSignature,
    // isBadUV, isBadUP); override({}) clears them.
    async override(bits) {
      await cdp.send("WebAuthn.setResponseOverrideBits", { authenticatorId, ...bits });
    },
    // waitDeleted waits until the browser has removed the credential id.
    async waitDeleted(id) {
      const deadline = Date.now() + TIMEOUT;
      while (!deleted.includes(id)) {
        if (Date.now() > deadline) {
          throw new Error(`the browser did not remove the credential ${id}: removed ${deleted}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
  return { page, authenticator };
}

// answer runs click and returns the JSON answer of the first request
// (method, default POST) to path that follows: {status, body}.
async function answer(page, path, click, method = "POST") {
  const res = page.waitForResponse((r) => r.url() === BASE + path && r.request().method() === method);
  await click();
  const r = await res;
  return { status: r.status(), body: await r.json().catch(() => null) };
}

// passkeySignUp signs up on the page with a passkey (and no password):
// it returns the answer of /passkeys/signup/finish and of the sign-in that
// follows it (/session/passkey).
async function passkeySignUp(page, username, email) {
  await page.goto(BASE + "/");
  await byLabel(page, "Username").fill(username);
  if (email) {
    await byLabel(page, "Email").fill(email);
  }
  const finish = page.waitForResponse((r) => r.url() === BASE + "/passkeys/signup/finish");
  const session = page.waitForResponse((r) => r.url() === BASE + "/session/passkey");
  await button(page, "Sign up with a passkey").click();
  const f = await finish;
  const s = await session;
  const out = { finish: { status: f.status(), body: await f.json() }, session: { status: s.status(), body: await s.json() } };
  await signedIn(page, username);
  return out;
}

async function passwordSignUp(page, username, email) {
  await page.goto(BASE + "/");
  await byLabel(page, "Username").fill(username);
  if (email) {
    await byLabel(page, "Email").fill(email);
  }
  await byLabel(page, "Password").fill(PASSWORD);
  await button(page, "Sign up").click();
  await signedIn(page, username);
}

// passkeySignIn clicks "Sign in with a passkey" and returns the answer of
// /session/passkey.
async function passkeySignIn(page) {
  return answer(page, "/session/passkey", () => button(page, "Sign in with a passkey").click());
}

// addPasskey clicks "Add a passkey" and returns the answer of
// /passkeys/register/finish.
async function addPasskey(page) {
  const r = await answer(page, "/passkeys/register/finish", () => button(page, "Add a passkey").click());
  assert.equal(r.status, 201, `register/finish: ${JSON.stringify(r)}`);
  await page.getByRole("status").filter({ hasText: "Passkey added." }).waitFor();
  return r.body;
}

async function logOut(page) {
  await button(page, "Log out").click();
  await signedOut(page);
}

// passkeyItems are the list items of the signed-in view's passkeys.
function passkeyItems(page) {
  return page.getByRole("list", { name: "Passkeys", exact: true }).getByRole("listitem");
}

// fetchJSON calls the server from the page, as a script of the page would
// (a token of the test's, never the page's own), and returns {status, body}.
async function fetchJSON(page, method, path, { token, body, form } = {}) {
  return page.evaluate(async ({ method, path, token, body, form }) => {
    const headers = {};
    const init = { method, headers, credentials: "omit", cache: "no-store" };
    if (token) {
      headers.Authorization = "Bearer " + token;
    }
    if (form) {
      init.body = new URLSearchParams(form);
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }, { method, path, token, body, form });
}

async function passwordToken(page, username, password = PASSWORD) {
  const r = await fetchJSON(page, "POST", "/token", { form: { grant_type: "password", username, password } });
  assert.equal(r.status, 200, `password grant: ${JSON.stringify(r)}`);
  return r.body.access_token;
}

// ceremony calls the browser's WebAuthn from the page: kind "get" or
// "create" with the server's JSON options (publicKey), for get restricted
// to the credential allow (base64url) if given, and returns the
// credential as toJSON() writes it.
async function ceremony(page, kind, publicKey, allow) {
  return page.evaluate(async ({ kind, publicKey, allow }) => {
    if (allow) {
      publicKey = { ...publicKey, allowCredentials: [{ type: "public-key", id: allow }] };
    }
    const options = kind === "get"
      ? PublicKeyCredential.parseRequestOptionsFromJSON(publicKey)
      : PublicKeyCredential.parseCreationOptionsFromJSON(publicKey);
    const cred = await navigator.credentials[kind]({ publicKey: options });
    return cred.toJSON();
  }, { kind, publicKey, allow });
}

function assertPasskeyLogin(token, what) {
  const c = claims(token);
  assert.deepEqual([...c.amr].sort(), ["mfa", "pop"], `${what}: amr ${JSON.stringify(c.amr)}`);
  assert.ok(Number.isInteger(c.auth_time), `${what}: no auth_time`);
}

function assertRefused(r, what, error = "invalid_grant") {
  assert.equal(r.status, 400, `${what}: ${JSON.stringify(r)}`);
  assert.equal(r.body.error, error, `${what}: ${JSON.stringify(r)}`);
  assert.notEqual(r.body.unknown_credential, true, `${what}: unknown_credential for a known one`);
  assert.equal(r.body.access_token, undefined, `${what}: tokens`);
}

// mailedLink waits for a mail to `to` holding a link to BASE/kind and
// returns it.
async function mailedLink(kind, to) {
  const re = new RegExp(`${BASE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/${kind}\\?token=[A-Za-z0-9_-]+`);
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    const files = fs.existsSync(OUTBOX) ? fs.readdirSync(OUTBOX).filter((f) => f.endsWith(".eml") && !f.startsWith(".")) : [];
    for (const f of files) {
      const raw = fs.readFileSync(path.join(OUTBOX, f), "utf8");
      const m = raw.includes(`<${to}>`) && raw.match(re);
      if (m) {
        return m[0];
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${kind} link mailed to ${to}`);
}

// serverNow returns the time of BASE's test clock (Unix seconds), after
// moving it forward by advance (a Go duration, "30s") if given.
async function serverNow(advance) {
  const res = advance ? await fetch(`${CLOCK}/?advance=${advance}`, { method: "POST" }) : await fetch(CLOCK);
  assert.equal(res.status, 200, `the clock hook: ${res.status}`);
  return Number(await res.text());
}

// --- the tests ---

test("sign up with a passkey, no password; log out; sign in with the button", async (context) => {
  await context.addInitScript(recorder, {});
  const { page, authenticator } = await newPage(context);
  const username = unique("pia");
  const email = `${username}@example.com`;
  await page.goto(BASE + "/");
  assert.equal(await byLabel(page, "Username").getAttribute("autocomplete"), "username webauthn");
  await page.screenshot({ path: path.join(SCREENSHOTS, "demo-passkeys-signed-out.png"), fullPage: true });

  const { finish, session } = await passkeySignUp(page, username, email);
  assert.equal(finish.status, 201, `signup/finish: ${JSON.stringify(finish)}`);
  assert.equal(await message(page), "Account created. We mailed a link to confirm your email.");
  await mailedLink("verify-email", email);
  assert.equal(finish.body.user.username, username);
  assert.equal(finish.body.user.email, email);
  assert.ok(finish.body.refresh_token, "signup/finish gave no refresh token");
  assertPasskeyLogin(finish.body.access_token, "signup/finish");
  assert.equal(session.status, 200, `the sign-in after the sign-up: ${JSON.stringify(session)}`);
  assert.equal(session.body.refresh_token, undefined, "/session/passkey gave the refresh token to the script");
  assertPasskeyLogin(session.body.access_token, "/session/passkey");
  const c = await sessionCookie(context);
  assert.ok(c, "no __Host-refresh_token cookie");
  assert.deepEqual([c.httpOnly, c.secure, c.sameSite, c.path], [true, true, "Strict", "/"]);
  // As every browser sign-in, it makes this browser familiar to the account.
  const device = (await context.cookies(BASE)).find((c) => c.name === "__Host-device");
  assert.ok(device, "no __Host-device cookie after /session/passkey");
  assert.deepEqual([device.httpOnly, device.secure, device.sameSite, device.path], [true, true, "Strict", "/"]);
  // The sign-up's own login, whose refresh token the page had in the
  // answer and keeps nowhere, has been ended.
  const spent = await fetchJSON(page, "POST", "/token", { form: { grant_type: "refresh_token", refresh_token: finish.body.refresh_token } });
  assertRefused(spent, "the sign-up's refresh token after the page signed in");
  assert.deepEqual(await calls(page), ["create modal", "get modal"]);

  // One resident credential for the relying party, which the server lists.
  const held = await authenticator.credentials();
  assert.equal(held.length, 1);
  assert.equal(held[0].rpId, RP_ID);
  assert.equal(held[0].isResidentCredential, true);
  await passkeyItems(page).first().waitFor();
  assert.equal(await passkeyItems(page).count(), 1);
  await passkeyItems(page).filter({ hasText: "Created" }).filter({ hasText: "last used" }).waitFor();
  await page.screenshot({ path: path.join(SCREENSHOTS, "demo-passkeys-signed-in.png"), fullPage: true });
  const listed = await fetchJSON(page, "GET", "/passkeys", { token: session.body.access_token });
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.passkeys.map((p) => p.id), [held[0].id]);
  assert.equal(Buffer.from(listed.body.user_handle, "base64url").toString("base64"), held[0].userHandle, "user_handle is not the credential's user id");

  // Its last way in cannot be removed: 409 last_credential, said on the page.
  const refused = await answer(page, "/passkeys/" + held[0].id, () => button(page, "Remove").click(), "DELETE");
  assert.deepEqual([refused.status, refused.body.error], [409, "last_credential"], `DELETE /passkeys/{id}: ${JSON.stringify(refused)}`);
  assert.equal(await errorShown(page), refused.body.error_description || refused.body.error);
  assert.equal(await passkeyItems(page).count(), 1, "the last passkey went");
  assert.equal((await authenticator.credentials()).length, 1, "the browser was told to drop the last passkey");

  // No password: the password login of that name fails.
  const grant = await fetchJSON(page, "POST", "/token", { form: { grant_type: "password", username, password: PASSWORD } });
  assertRefused(grant, "a password grant for a passkey-only account");

  await logOut(page);
  assert.equal(await sessionCookie(context), undefined, "the cookie outlived the logout");
  // The name is taken now; and a passkey sign-up needs one.
  await byLabel(page, "Username").fill(username.toUpperCase());
  const taken = await answer(page, "/passkeys/signup/begin", () => button(page, "Sign up with a passkey").click());
  assert.deepEqual([taken.status, taken.body.error], [409, "user_exists"], `signup/begin: ${JSON.stringify(taken)}`);
  assert.equal(await errorShown(page), taken.body.error_description || taken.body.error);
  await byLabel(page, "Username").fill("");
  await button(page, "Sign up with a passkey").click();
  await page.getByRole("status").filter({ hasText: "Enter a username." }).waitFor();
  assert.equal((await authenticator.credentials()).length, 1);
  await byLabel(page, "Username").fill(username);
  await byLabel(page, "Password").fill(PASSWORD);
  await button(page, "Log in").click();
  await errorShown(page);
  await signedOut(page);
  await page.reload();
  await signedOut(page);

  // Usernameless: the button, nothing typed.
  const r = await passkeySignIn(page);
  assert.equal(r.status, 200, `/session/passkey: ${JSON.stringify(r)}`);
  assertPasskeyLogin(r.body.access_token, "/session/passkey");
  await signedIn(page, username);
  assert.ok(await sessionCookie(context), "no cookie after a passkey sign-in");
  assert.deepEqual(await calls(page), ["get modal"]);
  await page.reload();
  await signedIn(page, username);
});

test("autofill: the conditional request signs in, on load and after a logout", async (context) => {
  await context.addInitScript(recorder, { conditional: true });
  const { page, authenticator } = await newPage(context);
  const username = unique("ada");
  // The sign-in form asks for autofill's passkeys as soon as it shows;
  // with no passkey yet, Chromium's virtual authenticator refuses the
  // request at once, and the page says nothing.
  await page.goto(BASE + "/");
  await signedOut(page);
  await page.waitForFunction(() => window.webauthnCalls.length === 1 && window.webauthnCalls[0].settled);
  assert.deepEqual(await calls(page), ["get conditional"]);
  assert.equal(await page.evaluate(() => window.webauthnCalls[0].settled), "NotAllowedError");
  assert.equal(await page.locator("#status").textContent(), "", "the page spoke of the conditional request");
  await passkeySignUp(page, username);

  // Logged out, the form shows, asks again, and the virtual authenticator
  // answers with the passkey as the user picking it would: signed in,
  // with no click.
  const auto = page.waitForResponse((r) => r.url() === BASE + "/session/passkey");
  await button(page, "Log out").click();
  assert.equal((await auto).status(), 200);
  await signedIn(page, username);
  assert.ok(await sessionCookie(context), "no cookie after the conditional sign-in");
  const after = await calls(page);
  assert.equal(after.at(-1), "get conditional", `the requests: ${after}`);

  // On load: without the passkey, the request finds none; with it back,
  // a reload of the signed-out page signs in.
  const [cred] = await authenticator.credentials();
  await authenticator.remove(cred.id);
  await page.evaluate(() => { window.webauthnCalls.length = 0; });
  await button(page, "Log out").click();
  await signedOut(page);
  await page.waitForFunction(() => window.webauthnCalls.length === 1 && window.webauthnCalls[0].settled);
  assert.equal(await page.evaluate(() => window.webauthnCalls[0].settled), "NotAllowedError");
  assert.equal(await page.locator("#status").textContent(), "Logged out.", "the page spoke of the conditional request");
  await authenticator.add(cred);
  const onLoad = page.waitForResponse((r) => r.url() === BASE + "/session/passkey");
  await page.reload();
  assert.equal((await onLoad).status(), 200);
  await signedIn(page, username);
  assert.deepEqual(await calls(page), ["get conditional"]);
});

test("autofill: a modal request aborts the pending conditional one", async (context) => {
  await context.addInitScript(recorder, { conditional: true, holdConditional: true });
  const { page } = await newPage(context);
  const username = unique("bea");
  const begins = [];
  page.on("response", (r) => {
    if (r.url() === BASE + "/passkeys/login/begin") {
      r.json().then((b) => begins.push(b.ceremony), () => {});
    }
  });
  await passkeySignUp(page, username);
  await logOut(page);
  await page.waitForFunction(() => window.webauthnCalls.some((c) => c.mediation === "conditional" && !c.signal.aborted));
  const r = await passkeySignIn(page);
  assert.equal(r.status, 200, `/session/passkey: ${JSON.stringify(r)}`);
  await signedIn(page, username);
  const last = await page.evaluate(() => {
    const c = window.webauthnCalls.at(-1);
    return { kind: c.kind, mediation: c.mediation, conditionalAborted: c.conditionalAborted };
  });
  assert.deepEqual(last, { kind: "get", mediation: "modal", conditionalAborted: true });
  // Each request had a login ceremony of its own (on load, the sign-in
  // after the sign-up, after the logout, the modal one).
  assert.equal(begins.length, 4, `login/begin: ${begins}`);
  assert.equal(new Set(begins).size, begins.length, `login/begin: ${begins}`);
});

test("Add a passkey while signed in with a password; Remove it; the Signal API", async (context) => {
  await context.addInitScript(recorder, {});
  const { page, authenticator } = await newPage(context);
  const username = unique("cyd");
  await passwordSignUp(page, username);
  await page.getByText("No passkeys yet").waitFor();

  const begin = page.waitForResponse((r) => r.url() === BASE + "/passkeys/register/begin");
  const added = await addPasskey(page);
  const options = (await (await begin).json()).publicKey;
  assert.equal(options.authenticatorSelection.residentKey, "required");
  assert.equal(options.authenticatorSelection.userVerification, "required");
  assert.equal(options.attestation, "none");
  assert.equal(options.rp.name, RP_NAME);
  assert.equal(options.rp.id ?? RP_ID, RP_ID);
  assert.deepEqual(options.excludeCredentials || [], []);
  assert.equal(added.last_used_at, null);
  assert.ok(added.name && added.created_at, `register/finish: ${JSON.stringify(added)}`);
  const [cred] = await authenticator.credentials();
  assert.equal(added.id, cred.id);
  await passkeyItems(page).filter({ hasText: added.name }).filter({ hasText: "never used" }).waitFor();

  // A second one on the same device: the options exclude the first, so the
  // authenticator refuses, and the page says so.
  const again = page.waitForResponse((r) => r.url() === BASE + "/passkeys/register/begin");
  await button(page, "Add a passkey").click();
  const excluded = (await (await again).json()).publicKey.excludeCredentials.map((d) => d.id);
  assert.deepEqual(excluded, [cred.id]);
  assert.match(await errorShown(page), /already has a passkey/);
  assert.equal((await authenticator.credentials()).length, 1);

  // It signs in; the password still does too.
  await logOut(page);
  const r = await passkeySignIn(page);
  assert.equal(r.status, 200, `/session/passkey: ${JSON.stringify(r)}`);
  assertPasskeyLogin(r.body.access_token, "a passkey sign-in of a user with a password");
  await signedIn(page, username);
  await passkeyItems(page).filter({ hasText: "last used" }).waitFor();

  // Remove: the list empties, and the browser learns that the user has no
  // passkey left here, and drops it.
  const { body: before } = await fetchJSON(page, "GET", "/passkeys", { token: r.body.access_token });
  await button(page, "Remove").click();
  await page.getByRole("status").filter({ hasText: "Passkey removed." }).waitFor();
  await page.getByText("No passkeys yet").waitFor();
  await page.waitForFunction(() => window.signals.length > 0);
  assert.deepEqual(await signals(page), [{
    name: "signalAllAcceptedCredentials",
    arg: { rpId: RP_ID, userId: before.user_handle, allAcceptedCredentialIds: [] },
  }]);
  await authenticator.waitDeleted(cred.id);
  assert.equal((await authenticator.credentials()).length, 0);

  await logOut(page);
  await byLabel(page, "Username").fill(username);
  await byLabel(page, "Password").fill(PASSWORD);
  await button(page, "Log in").click();
  await signedIn(page, username);
});

test("an unknown passkey: the page tells the browser (signalUnknownCredential)", async (context) => {
  await context.addInitScript(recorder, {});
  const { page, authenticator } = await newPage(context);
  const username = unique("dot");
  await passwordSignUp(page, username);
  const added = await addPasskey(page);
  // Removed on the server by another client: the browser still has it.
  const token = await passwordToken(page, username);
  const del = await fetchJSON(page, "DELETE", "/passkeys/" + added.id, { token });
  assert.equal(del.status, 204, `DELETE /passkeys/{id}: ${JSON.stringify(del)}`);
  assert.equal((await fetchJSON(page, "DELETE", "/passkeys/" + added.id, { token })).status, 404);
  await logOut(page);
  assert.equal((await authenticator.credentials()).length, 1);

  const r = await passkeySignIn(page);
  assert.equal(r.status, 400, `/session/passkey: ${JSON.stringify(r)}`);
  assert.equal(r.body.error, "invalid_grant");
  assert.equal(r.body.unknown_credential, true);
  assert.match(await errorShown(page), /not registered here/);
  await signedOut(page);
  assert.equal(await sessionCookie(context), undefined);
  await page.waitForFunction(() => window.signals.length > 0);
  assert.deepEqual(await signals(page), [{ name: "signalUnknownCredential", arg: { rpId: RP_ID, credentialId: added.id } }]);
  await authenticator.waitDeleted(added.id);
  assert.equal((await authenticator.credentials()).length, 0, "Chromium kept the unknown credential");
});

test("refused through the page: a bogus signature, no user verification, no user presence", async (context) => {
  await context.addInitScript(recorder, {});
  const { page, authenticator } = await newPage(context);
  const username = unique("eve");
  await passkeySignUp(page, username);
  await logOut(page);
  for (const bits of [{ isBogusSignature: true }, { isBadUV: true }, { isBadUP: true }]) {
    await authenticator.override(bits);
    const r = await passkeySignIn(page);
    assertRefused(r, JSON.stringify(bits));
    await errorShown(page);
    await signedOut(page);
    assert.equal(await sessionCookie(context), undefined, `${JSON.stringify(bits)} signed in`);
  }
  await authenticator.override({});
  const r = await passkeySignIn(page);
  assert.equal(r.status, 200, `the passkey after the refusals: ${JSON.stringify(r)}`);
  await signedIn(page, username);
});

test("the sign counter: going back is refused; backup flags may change", async (context) => {
  await context.addInitScript(recorder, {});
  const { page, authenticator } = await newPage(context);
  const username = unique("fay");
  await passkeySignUp(page, username); // signs in once already
  await logOut(page);
  assert.equal((await passkeySignIn(page)).status, 200);
  await signedIn(page, username);
  await logOut(page);
  const [cred] = await authenticator.credentials();
  assert.ok(cred.signCount >= 2, `the authenticator's counter: ${cred.signCount}`);

  // The same key, on an authenticator whose counter starts again (a clone).
  await authenticator.remove(cred.id);
  await authenticator.add({ ...cred, signCount: 0 });
  let r = await passkeySignIn(page);
  assertRefused(r, "a counter that went back");
  await errorShown(page);
  await signedOut(page);
  // Equal to the stored one: refused too.
  await authenticator.set(cred.id, { signCount: cred.signCount - 1 });
  r = await passkeySignIn(page);
  assertRefused(r, "a counter equal to the stored one");

  // Ahead again: accepted.
  await authenticator.set(cred.id, { signCount: cred.signCount + 10 });
  r = await passkeySignIn(page);
  assert.equal(r.status, 200, `a counter ahead: ${JSON.stringify(r)}`);
  await signedIn(page, username);
  const token = r.body.access_token;
  let listed = await fetchJSON(page, "GET", "/passkeys", { token });
  assert.equal(listed.body.passkeys[0].backed_up, false);

  // Synced since: backup eligible and backed up. It goes on working, and
  // the new state is recorded.
  await logOut(page);
  await authenticator.set(cred.id, { backupEligibility: true, backupState: true });
  r = await passkeySignIn(page);
  assert.equal(r.status, 200, `after the backup flags changed: ${JSON.stringify(r)}`);
  await signedIn(page, username);
  listed = await fetchJSON(page, "GET", "/passkeys", { token: r.body.access_token });
  assert.equal(listed.body.passkeys[0].backed_up, true, `GET /passkeys: ${JSON.stringify(listed.body)}`);
});

test("ceremonies: single-use, bound to their kind and user, expiring", async (context) => {
  await context.addInitScript(recorder, {});
  const { page, authenticator } = await newPage(context);
  const username = unique("gus");
  const { session } = await passkeySignUp(page, username);
  const token = session.body.access_token;
  const [mine] = await authenticator.credentials();
  const onlyMine = mine.id;
  // dropOthers removes from the authenticator what a test made besides
  // the user's passkey.
  const dropOthers = async () => {
    for (const c of await authenticator.credentials()) {
      if (c.id !== mine.id) {
        await authenticator.remove(c.id);
      }
    }
  };

  // Missing members.
  let begun = (await fetchJSON(page, "POST", "/passkeys/login/begin")).body;
  assert.deepEqual(begun.publicKey.allowCredentials, []);
  assert.equal(begun.publicKey.userVerification, "required");
  assert.ok(Buffer.from(begun.publicKey.challenge, "base64url").length >= 16, "a short challenge");
  assertRefused(await fetchJSON(page, "POST", "/passkeys/login/finish", { body: { ceremony: begun.ceremony } }), "no credential", "invalid_request");

  // Replayed: two assertions for one login ceremony, the second with a
  // greater counter (so that only the ceremony can refuse it).
  const first = await ceremony(page, "get", begun.publicKey, onlyMine);
  const second = await ceremony(page, "get", begun.publicKey, onlyMine);
  let r = await fetchJSON(page, "POST", "/passkeys/login/finish", { body: { ceremony: begun.ceremony, credential: first } });
  assert.equal(r.status, 200, `login/finish: ${JSON.stringify(r)}`);
  assert.equal(r.body.token_type.toLowerCase(), "bearer");
  assert.ok(r.body.refresh_token, "login/finish gave no refresh token");
  assertPasskeyLogin(r.body.access_token, "login/finish");
  assertRefused(await fetchJSON(page, "POST", "/passkeys/login/finish", { body: { ceremony: begun.ceremony, credential: second } }), "a spent ceremony");
  assertRefused(await fetchJSON(page, "POST", "/passkeys/login/finish", { body: { ceremony: begun.ceremony, credential: first } }), "a replayed finish");
  // Through the cookie's endpoint as well.
  begun = (await fetchJSON(page, "POST", "/passkeys/login/begin")).body;
  const viaSession = await ceremony(page, "get", begun.publicKey, onlyMine);
  assert.equal((await fetchJSON(page, "POST", "/session/passkey", { body: { ceremony: begun.ceremony, credential: viaSession } })).status, 200);
  assertRefused(await fetchJSON(page, "POST", "/session/passkey", { body: { ceremony: begun.ceremony, credential: viaSession } }), "a replayed /session/passkey");

  // A login ceremony used to register, with a credential made for its very
  // challenge (so that only its kind can refuse it). (The authenticator
  // keeps it under another user id: one of the same would replace the
  // user's passkey in it. The server never sees that id.)
  const login = (await fetchJSON(page, "POST", "/passkeys/login/begin")).body;
  let reg = (await fetchJSON(page, "POST", "/passkeys/register/begin", { token })).body;
  const forLogin = await ceremony(page, "create", { ...reg.publicKey, challenge: login.publicKey.challenge,
    excludeCredentials: [], user: { ...reg.publicKey.user, id: Buffer.from("another user id").toString("base64url") } });
  assertRefused(await fetchJSON(page, "POST", "/passkeys/register/finish", { token, body: { ceremony: login.ceremony, credential: forLogin } }), "a login ceremony at register/finish");
  await dropOthers();

  // A registration ceremony used to log in.
  reg = (await fetchJSON(page, "POST", "/passkeys/register/begin", { token })).body;
  const assertion = await ceremony(page, "get", { challenge: reg.publicKey.challenge, rpId: RP_ID, allowCredentials: [], userVerification: "required" }, onlyMine);
  assertRefused(await fetchJSON(page, "POST", "/passkeys/login/finish", { body: { ceremony: reg.ceremony, credential: assertion } }), "a registration ceremony at login/finish");

  // A sign-up ceremony used to register.
  const signup = (await fetchJSON(page, "POST", "/passkeys/signup/begin", { body: { username: unique("hal") } })).body;
  const forSignup = await ceremony(page, "create", signup.publicKey);
  assertRefused(await fetchJSON(page, "POST", "/passkeys/register/finish", { token, body: { ceremony: signup.ceremony, credential: forSignup } }), "a sign-up ceremony at register/finish");
  await dropOthers();

  // Another user's registration ceremony: refused for this user, and the
  // very same credential is then accepted for its own user.
  const other = unique("ida");
  assert.equal((await fetchJSON(page, "POST", "/signup", { body: { username: other, password: PASSWORD } })).status, 201);
  const otherToken = await passwordToken(page, other);
  const theirs = (await fetchJSON(page, "POST", "/passkeys/register/begin", { token: otherToken })).body;
  const theirCred = await ceremony(page, "create", theirs.publicKey);
  assertRefused(await fetchJSON(page, "POST", "/passkeys/register/finish", { token, body: { ceremony: theirs.ceremony, credential: theirCred } }), "another user's registration ceremony");
  r = await fetchJSON(page, "POST", "/passkeys/register/finish", { token: otherToken, body: { ceremony: theirs.ceremony, credential: theirCred } });
  // The refusal may have spent the ceremony (single-use): then a new one.
  if (r.status !== 201) {
    assertRefused(r, "the other user's ceremony after it was misused");
  }
  await dropOthers();

  // Expired: a ceremony older than AUTH_PASSKEY_CEREMONY_TTL (5m).
  begun = (await fetchJSON(page, "POST", "/passkeys/login/begin")).body;
  await serverNow("6m");
  const late = await ceremony(page, "get", begun.publicKey, onlyMine);
  assertRefused(await fetchJSON(page, "POST", "/passkeys/login/finish", { body: { ceremony: begun.ceremony, credential: late } }), "an expired ceremony");
  // A fresh one works.
  begun = (await fetchJSON(page, "POST", "/passkeys/login/begin")).body;
  const fresh = await ceremony(page, "get", begun.publicKey, onlyMine);
  assert.equal((await fetchJSON(page, "POST", "/passkeys/login/finish", { body: { ceremony: begun.ceremony, credential: fresh } })).status, 200);
});

test("a user with TOTP on signs in with a passkey without a code", async (context) => {
  await context.addInitScript(recorder, {});
  const { page } = await newPage(context);
  const username = unique("joe");
  await passwordSignUp(page, username);
  await addPasskey(page);

  // TOTP on, by another client of the user's: it ends the page's login.
  const token = await passwordToken(page, username);
  const enrol = await fetchJSON(page, "POST", "/mfa/totp", { token, body: { password: PASSWORD } });
  assert.equal(enrol.status, 200, `POST /mfa/totp: ${JSON.stringify(enrol)}`);
  const confirm = await fetchJSON(page, "POST", "/mfa/totp/confirm", { token, body: { code: totp(enrol.body.secret, await serverNow()) } });
  assert.equal(confirm.status, 200, `POST /mfa/totp/confirm: ${JSON.stringify(confirm)}`);
  await page.reload();
  await signedOut(page);

  // The password asks for the second factor...
  await byLabel(page, "Username").fill(username);
  await byLabel(page, "Password").fill(PASSWORD);
  await button(page, "Log in").click();
  await byLabel(page, "Authentication code").waitFor();
  await button(page, "Cancel").click();
  await signedOut(page);
  // ...a passkey is one.
  const r = await passkeySignIn(page);
  assert.equal(r.status, 200, `/session/passkey: ${JSON.stringify(r)}`);
  assertPasskeyLogin(r.body.access_token, "a passkey sign-in with TOTP on");
  await signedIn(page, username);
  assert.equal(await byLabel(page, "Authentication code").count(), 0);
  await page.getByText("Two-factor authentication is on.").waitFor();
  const mfa = await fetchJSON(page, "GET", "/mfa", { token: r.body.access_token });
  assert.deepEqual([mfa.status, mfa.body.totp, mfa.body.passkeys], [200, true, 1], `GET /mfa: ${JSON.stringify(mfa)}`);
});

test("without the browser's JSON helpers (older browsers): sign up, sign in, exclude", async (context) => {
  await context.addInitScript(recorder, { noJSON: true });
  const { page, authenticator } = await newPage(context);
  await page.goto(BASE + "/");
  assert.deepEqual(await page.evaluate(() => [typeof PublicKeyCredential.parseRequestOptionsFromJSON,
    typeof PublicKeyCredential.parseCreationOptionsFromJSON, typeof PublicKeyCredential.prototype.toJSON]),
  ["undefined", "undefined", "undefined"]);
  const username = unique("kim");
  const { finish, session } = await passkeySignUp(page, username);
  assert.equal(finish.status, 201);
  assert.equal(session.status, 200);
  await logOut(page);
  const r = await passkeySignIn(page);
  assert.equal(r.status, 200, `/session/passkey: ${JSON.stringify(r)}`);
  await signedIn(page, username);
  // excludeCredentials converted by hand too: the device refuses a second.
  await button(page, "Add a passkey").click();
  assert.match(await errorShown(page), /already has a passkey/);
  assert.equal((await authenticator.credentials()).length, 1);
});

// --- run ---

await run(browser, tests);
