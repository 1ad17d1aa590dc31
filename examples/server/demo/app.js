"use strict";
// The demo page of the goauthkit example server, in plain JavaScript.
//
// The access token lives in a variable of this script, never in storage;
// the refresh token lives in an HttpOnly cookie scoped to /session that no
// script can read. A reload starts with no access token and gets one from
// POST /session/refresh, which also rotates the cookie. Refreshes are
// serialised across tabs with the Web Locks API, so that two tabs never
// present one refresh token at once (which the server would take for
// theft, unless AUTH_REFRESH_GRACE is set).
//
// Passkeys (WebAuthn) sign in through POST /session/passkey, which answers
// as POST /session does (the cookie). Where the browser offers passkeys in
// autofill (conditional mediation), the sign-in form starts a request for
// them as soon as it shows. Options and credentials travel in the JSON
// forms of PublicKeyCredential.parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON and toJSON(), converted by hand where the
// browser lacks them; the WebAuthn Signal API tells the browser about
// passkeys that the server no longer knows, where the browser has it.
//
// Other providers (OpenID Connect; GET /login/providers) are links to
// /login/NAME, which the browser follows to the provider and back to the
// server's callback, which sets the cookie and sends it here. A user with a
// second factor comes back to #mfa_token=…: the page takes the token out of
// the address at once (history.replaceState) and asks for the code, as after
// a password. Signed in, the page lists the linked provider accounts
// (GET /identities) with an Unlink button each, and a Link button for each
// provider not linked, which opens the URL that POST /identities/NAME/link
// answers (a recent sign-in only).
(function () {
  var accessToken = null;
  // loginPassword is the password typed at this page's login, for the
  // set-up of a second factor (POST /mfa/totp asks for it): in memory
  // only, forgotten when the user is signed out.
  var loginPassword = "";
  var view = document.getElementById("view");
  var status = document.getElementById("status");

  function say(text, isError) {
    status.textContent = text || "";
    status.className = isError ? "error" : "";
  }

  // api calls an endpoint of the server, relative to this page.
  function api(method, path, body, opts) {
    opts = opts || {};
    var headers = {};
    var init = { method: method, headers: headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (opts.auth && accessToken) {
      headers["Authorization"] = "Bearer " + accessToken;
    }
    return fetch(path, init).then(function (resp) {
      if (resp.status === 204) {
        return { status: 204, body: null, headers: resp.headers };
      }
      return resp.json().catch(function () { return {}; }).then(function (b) {
        return { status: resp.status, body: b, headers: resp.headers };
      });
    });
  }

  // authed calls an endpoint with the access token, refreshing it once if
  // the server says it has expired.
  function authed(method, path, body) {
    return api(method, path, body, { auth: true }).then(function (r) {
      if (r.status !== 401) {
        return r;
      }
      return refresh().then(function (ok) {
        return ok ? api(method, path, body, { auth: true }) : r;
      });
    });
  }

  function withRefreshLock(fn) {
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request("goauthkit-session-refresh", fn);
    }
    return fn();
  }

  // refresh exchanges the cookie for a new access token (and cookie).
  function refresh() {
    return withRefreshLock(function () {
      return api("POST", "session/refresh").then(function (r) {
        accessToken = r.status === 200 ? r.body.access_token : null;
        return accessToken !== null;
      });
    });
  }

  function problem(r) {
    var b = r.body || {};
    if (r.status === 429) {
      var after = r.headers.get("Retry-After");
      return "Too many attempts. Try again in " + (after || "a few") + " seconds.";
    }
    if (r.status === 503) {
      return "The service is unavailable. Try again shortly.";
    }
    return b.error_description || b.error || ("Something went wrong (" + r.status + ").");
  }

  function show(id) {
    stopConditional(); // whatever the view, a new one starts afresh
    var tpl = document.getElementById(id);
    view.replaceChildren(tpl.content.cloneNode(true));
  }

  function showSignedOut() {
    accessToken = null;
    loginPassword = "";
    if (location.hash === "#forgot") {
      showForgot();
      return;
    }
    show("signed-out");
    var form = document.getElementById("auth-form");
    var submitter = "login";
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      b.addEventListener("click", function () { submitter = b.value; });
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var action = (ev.submitter && ev.submitter.value) || submitter;
      var username = form.username.value.trim();
      var password = form.password.value;
      var email = form.email.value.trim();
      if (!username || !password) {
        say("Enter a username and a password.", true);
        (username ? form.password : form.username).focus();
        return;
      }
      setBusy(form, true);
      var first = Promise.resolve({ status: 201 });
      if (action === "signup") {
        var body = { username: username, password: password };
        if (email) {
          body.email = email;
        }
        first = api("POST", "signup", body);
      }
      first.then(function (r) {
        if (r.status !== 201) {
          return r;
        }
        return api("POST", "session", { username: username, password: password });
      }).then(function (r) {
        setBusy(form, false);
        if (r.status === 200 || r.status === 403) {
          // For the set-up of a second factor, which asks for it: kept in
          // this page's memory only, never stored, forgotten at logout.
          loginPassword = password;
        }
        if (r.status === 200) {
          accessToken = r.body.access_token;
          say(action === "signup" ? (email ? "Account created. We mailed a link to confirm your email." : "Account created.") : "");
          return loadUser();
        }
        if (r.status === 403 && r.body.error === "mfa_required" && r.body.mfa_token) {
          say("");
          showChallenge(r.body.mfa_token, "otp");
          return;
        }
        say(problem(r), true);
        form.password.focus();
      }, failed(form));
    });
    document.getElementById("passkey-login").addEventListener("click", function () {
      if (!passkeysSupported()) {
        say("This browser does not support passkeys.", true);
        return;
      }
      stopConditional(); // a modal request takes over from autofill's
      say("");
      setBusy(form, true);
      signInWithPasskey({}).then(function (r) {
        setBusy(form, false);
        if (!signedInWithPasskey(r)) {
          startConditional();
        }
      }, function (err) {
        passkeyFailed(form)(err);
        startConditional();
      });
    });
    document.getElementById("passkey-signup").addEventListener("click", function () {
      signUpWithPasskey(form);
    });
    showProviders();
    startConditional();
    document.getElementById("username").focus();
  }

  // showChallenge asks for the second factor of a login that POST /session
  // answered with 403 mfa_required: a code of the authenticator app (mode
  // "otp") or a recovery code (mode "recovery"), sent with the mfa_token to
  // POST /session/mfa. The mfa_token lives in this function only; a wrong
  // code may be tried again until the server says the token is dead.
  function showChallenge(mfaToken, mode) {
    accessToken = null;
    var recovery = mode === "recovery";
    show(recovery ? "mfa-recovery" : "mfa-otp");
    var form = document.getElementById("mfa-form");
    var field = form.querySelector("input");
    document.getElementById("mfa-switch").addEventListener("click", function () {
      say("");
      showChallenge(mfaToken, recovery ? "otp" : "recovery");
    });
    document.getElementById("mfa-cancel").addEventListener("click", function () {
      say("");
      showSignedOut();
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var code = recovery ? field.value.trim() : field.value.replace(/\s+/g, "");
      if (!code) {
        say(recovery ? "Enter one of your recovery codes." : "Enter the code your authenticator app shows.", true);
        field.focus();
        return;
      }
      var body = { mfa_token: mfaToken };
      body[recovery ? "recovery_code" : "otp"] = code;
      setBusy(form, true);
      api("POST", "session/mfa", body).then(function (r) {
        setBusy(form, false);
        if (r.status === 200) {
          accessToken = r.body.access_token;
          say("");
          return loadUser();
        }
        if (r.status === 400 && r.body.error === "invalid_grant" && /mfa_token/.test(r.body.error_description || "")) {
          // Spent, expired, or dead of too many wrong codes.
          say("This login has expired. Log in again.", true);
          showSignedOut();
          return;
        }
        say(problem(r), true);
        field.select();
        field.focus();
      }, failed(form));
    });
    field.focus();
  }

  function showForgot() {
    show("forgot");
    var form = document.getElementById("forgot-form");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var email = form.email.value.trim();
      if (!email) {
        say("Enter the email of your account.", true);
        form.email.focus();
        return;
      }
      setBusy(form, true);
      api("POST", "password/forgot", { email: email }).then(function (r) {
        setBusy(form, false);
        if (r.status === 202) {
          say("If an account has this address, we mailed it a link to choose a new password.");
          return;
        }
        say(problem(r), true);
      }, failed(form));
    });
    document.getElementById("forgot-email").focus();
  }

  function showSignedIn(user) {
    show("signed-in");
    document.getElementById("who").textContent = "Signed in as " + user.username;
    var line = document.getElementById("email-line");
    var resend = document.getElementById("resend");
    if (user.email) {
      line.textContent = "Email: " + user.email + (user.email_verified ? " (verified)" : " (not verified yet)");
      resend.hidden = user.email_verified;
    } else {
      line.textContent = "No email address.";
    }
    resend.addEventListener("click", function () {
      authed("POST", "email/verify/resend").then(function (r) {
        say(r.status === 202 ? "We mailed you a new link." : problem(r), r.status !== 202);
      }, failed());
    });
    document.getElementById("logout").addEventListener("click", function () {
      api("POST", "session/logout").then(function (r) {
        if (r.status === 204) {
          say("Logged out.");
          showSignedOut();
          return;
        }
        say(problem(r), true);
      }, failed());
    });
    document.getElementById("logout-all").addEventListener("click", function () {
      authed("POST", "logout/all").then(function (r) {
        if (r.status !== 204) {
          say(problem(r), true);
          return;
        }
        return api("POST", "session/logout").then(function () {
          say("Logged out on every device.");
          showSignedOut();
        });
      }, failed());
    });
    showMFAStatus();
    showPasskeys();
    showIdentities();
    var form = document.getElementById("password-form");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      setBusy(form, true);
      authed("POST", "users/me/password", {
        current_password: form.current_password.value,
        new_password: form.new_password.value
      }).then(function (r) {
        setBusy(form, false);
        if (r.status === 204) {
          // Every login of the account has ended, this one too.
          return api("POST", "session/logout").then(function () {
            say("Password changed, and every session ended. Log in with the new password.");
            showSignedOut();
          });
        }
        say(problem(r), true);
      }, failed(form));
    });
  }

  // showMFAStatus fills the signed-in view's section on the second factor
  // from GET /mfa, offering to set it up when it is off.
  function showMFAStatus() {
    var line = document.getElementById("mfa-line");
    var setup = document.getElementById("mfa-setup");
    setup.addEventListener("click", function () {
      say("");
      // The password typed at this page's login: straight to the QR code.
      // Without one (after a reload, or a passkey's sign-in), the request
      // goes without: an account without a password is confirmed by its
      // recent login, and one with a password answers that it wants it.
      setup.disabled = true;
      authed("POST", "mfa/totp", loginPassword ? { password: loginPassword } : {}).then(function (r) {
        setup.disabled = false;
        if (r.status === 200) {
          showSetupScan(r.body);
          return;
        }
        if (setupEnded(r)) {
          return;
        }
        loginPassword = "";
        showSetupPassword(); // changed elsewhere since: ask for it
      }, function () {
        setup.disabled = false;
        say("The server cannot be reached.", true);
      });
    });
    authed("GET", "mfa").then(function (r) {
      if (r.status !== 200) {
        line.textContent = problem(r);
        return;
      }
      if (!r.body.totp) {
        line.textContent = "Two-factor authentication is off.";
        setup.hidden = false;
        return;
      }
      var n = r.body.recovery_codes_left;
      line.textContent = "Two-factor authentication is on. " + n + (n === 1 ? " recovery code" : " recovery codes") + " left.";
    }, function () {
      line.textContent = "The server cannot be reached.";
    });
  }

  // The set-up of an authenticator app: the current password (POST
  // /mfa/totp wants it), then the QR code, the secret and a code of the
  // app (POST /mfa/totp/confirm), then the recovery codes, shown once.
  // Cancel goes back to the signed-in view; the pending secret stays
  // pending until a newer set-up replaces it.
  function showSetupPassword() {
    show("mfa-setup-password");
    var form = document.getElementById("mfa-setup-form");
    document.getElementById("mfa-setup-cancel").addEventListener("click", cancelSetup);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var password = form.password.value;
      if (!password) {
        say("Enter your password.", true);
        form.password.focus();
        return;
      }
      setBusy(form, true);
      authed("POST", "mfa/totp", { password: password }).then(function (r) {
        setBusy(form, false);
        if (r.status === 200) {
          say("");
          showSetupScan(r.body);
          return;
        }
        if (setupEnded(r)) {
          return;
        }
        say(problem(r), true);
        form.password.select();
        form.password.focus();
      }, failed(form));
    });
    form.password.focus();
  }

  function showSetupScan(enrolment) {
    show("mfa-setup-scan");
    var form = document.getElementById("mfa-setup-form");
    if (/^data:image\/png;base64,/.test(enrolment.qr_code || "")) {
      document.getElementById("mfa-qr").src = enrolment.qr_code;
    }
    document.getElementById("mfa-secret").textContent = enrolment.secret;
    document.getElementById("mfa-setup-cancel").addEventListener("click", cancelSetup);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var code = form.code.value.replace(/\s+/g, "");
      if (!code) {
        say("Enter the code your authenticator app shows.", true);
        form.code.focus();
        return;
      }
      setBusy(form, true);
      authed("POST", "mfa/totp/confirm", { code: code }).then(function (r) {
        setBusy(form, false);
        if (r.status === 200) {
          say("");
          showRecoveryCodes(r.body.recovery_codes || []);
          return;
        }
        if (setupEnded(r)) {
          return;
        }
        say(problem(r), true);
        form.code.select();
        form.code.focus();
      }, failed(form));
    });
    form.code.focus();
  }

  // showRecoveryCodes shows the codes of a set-up just confirmed: the only
  // time they are shown. Done forgets them.
  function showRecoveryCodes(codes) {
    show("mfa-setup-codes");
    var list = document.getElementById("mfa-codes");
    codes.forEach(function (c) {
      var item = document.createElement("li");
      var code = document.createElement("code");
      code.textContent = c;
      item.appendChild(code);
      list.appendChild(item);
    });
    var done = document.getElementById("mfa-codes-done");
    done.addEventListener("click", function () {
      say("");
      loadUser();
    });
    var heading = document.getElementById("mfa-codes-heading");
    heading.tabIndex = -1;
    heading.focus();
  }

  function cancelSetup() {
    say("");
    loadUser();
  }

  // setupEnded handles the answers of the set-up that end it: the session
  // is gone (401 after a refresh), or there is nothing (more) to set up
  // (409 mfa_enabled, nothing_to_confirm). It reports whether it did.
  function setupEnded(r) {
    if (r.status === 401 && r.body.error !== "insufficient_user_authentication") {
      say("Your session has ended. Log in again.", true);
      showSignedOut();
      return true;
    }
    if (r.status === 409) {
      say(problem(r), true);
      loadUser();
      return true;
    }
    return false;
  }

  // --- Passkeys ---

  // conditional is the AbortController of the pending conditional request
  // (the one that autofill answers), if any.
  var conditional = null;
  // rpId is the relying-party id of the latest options that the server
  // sent, for the Signal API: the page's host name until then, which is
  // the server's default (AUTH_PASSKEY_RP_ID, the host of AUTH_PUBLIC_URL).
  var rpId = location.hostname;
  var passkeySerial = 0;
  // The passkey endpoints answer 404 when the server has passkeys off (a
  // public URL whose host is an IP address cannot be a relying party).
  var passkeysOff = "Passkeys are off on this server.";

  function passkeysSupported() {
    return typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
  }

  function fromBase64url(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) {
      out[i] = b.charCodeAt(i);
    }
    return out.buffer;
  }

  function toBase64url(buf) {
    var bytes = new Uint8Array(buf);
    var b = "";
    for (var i = 0; i < bytes.length; i++) {
      b += String.fromCharCode(bytes[i]);
    }
    return btoa(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return list.map(function (d) {
      return Object.assign({}, d, { id: fromBase64url(d.id) });
    });
  }

  // requestOptions and creationOptions turn the server's JSON options
  // into the browser's, as parseRequestOptionsFromJSON and
  // parseCreationOptionsFromJSON do where the browser has them.
  function requestOptions(json) {
    rpId = json.rpId || rpId;
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var o = Object.assign({}, json, { challenge: fromBase64url(json.challenge) });
    if (json.allowCredentials) {
      o.allowCredentials = descriptors(json.allowCredentials);
    }
    return o;
  }

  function creationOptions(json) {
    rpId = (json.rp && json.rp.id) || rpId;
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var o = Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      user: Object.assign({}, json.user, { id: fromBase64url(json.user.id) })
    });
    if (json.excludeCredentials) {
      o.excludeCredentials = descriptors(json.excludeCredentials);
    }
    return o;
  }

  // credentialJSON is the browser's answer as the server takes it:
  // toJSON(), or the same by hand.
  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") {
      return cred.toJSON();
    }
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    if (r.attestationObject) { // a new passkey
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
      if (r.getAuthenticatorData) {
        out.response.authenticatorData = toBase64url(r.getAuthenticatorData());
      }
      var key = r.getPublicKey ? r.getPublicKey() : null;
      if (key) {
        out.response.publicKey = toBase64url(key);
        out.response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
      }
    } else { // a sign-in
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toBase64url(r.userHandle);
      }
    }
    return out;
  }

  // askBrowser calls navigator.credentials[kind] ("get" or "create") with
  // the options that makeOptions returns. Its refusals (the user
  // cancelled, no passkey, an abort) reject with an Error whose webauthn
  // is the browser's exception, so that they are told apart from a server
  // out of reach.
  function askBrowser(kind, makeOptions) {
    return new Promise(function (resolve) {
      resolve(navigator.credentials[kind](makeOptions()));
    }).then(function (cred) {
      if (!cred) {
        throw new DOMException("No credential.", "NotAllowedError");
      }
      return cred;
    }).catch(function (e) {
      var err = new Error(String(e && e.message));
      err.webauthn = e;
      throw err;
    });
  }

  function passkeyProblem(e) {
    switch (e.name) {
    case "NotAllowedError":
      return "No passkey was used: the request was cancelled, timed out or found none.";
    case "InvalidStateError":
      return "This device already has a passkey for this account.";
    case "SecurityError":
      return "Passkeys do not work on this address.";
    case "NotSupportedError":
      return "This device cannot make a passkey.";
    }
    return "The passkey request failed (" + e.name + ").";
  }

  // passkeyFailed handles the rejections of a passkey ceremony: the
  // browser's refusal (an abort says nothing), or the server out of reach.
  function passkeyFailed(form) {
    return function (err) {
      if (form) {
        setBusy(form, false);
      }
      var e = err && err.webauthn;
      if (!e) {
        say("The server cannot be reached. Try again.", true);
        return;
      }
      if (e.name !== "AbortError") {
        say(passkeyProblem(e), true);
      }
    };
  }

  // signInWithPasskey runs a login ceremony: POST /passkeys/login/begin,
  // the browser's assertion, then POST /session/passkey, whose answer
  // (as POST /session's: the access token, and the cookie) it resolves
  // to; or to the answer of begin, marked begin, when that fails; or to
  // null when opts.signal was aborted meanwhile. opts.conditional asks
  // for the conditional request that autofill answers; opts.allow
  // restricts the request to one credential (a raw id). When the server
  // does not know the passkey, the browser is told (Signal API).
  function signInWithPasskey(opts) {
    return api("POST", "passkeys/login/begin").then(function (r) {
      if (r.status !== 200) {
        r.begin = true;
        return r;
      }
      var begun = r.body;
      return askBrowser("get", function () {
        var o = { publicKey: requestOptions(begun.publicKey) };
        if (opts.allow) {
          o.publicKey.allowCredentials = [{ type: "public-key", id: opts.allow }];
        }
        if (opts.conditional) {
          o.mediation = "conditional";
        }
        if (opts.signal) {
          o.signal = opts.signal;
        }
        return o;
      }).then(function (cred) {
        if (opts.signal && opts.signal.aborted) {
          return null;
        }
        var rp = rpId;
        return api("POST", "session/passkey", { ceremony: begun.ceremony, credential: credentialJSON(cred) }).then(function (r) {
          if (r.status === 400 && r.body.unknown_credential === true &&
              typeof PublicKeyCredential.signalUnknownCredential === "function") {
            PublicKeyCredential.signalUnknownCredential({ rpId: rp, credentialId: cred.id }).catch(function () {});
          }
          return r;
        });
      });
    });
  }

  // signedInWithPasskey takes the answer of signInWithPasskey: signed in,
  // or what went wrong, in the message area. It reports whether it signed
  // in.
  function signedInWithPasskey(r) {
    if (!r) {
      return false;
    }
    if (r.begin && r.status === 404) {
      say(passkeysOff, true);
      return false;
    }
    if (r.status === 200) {
      accessToken = r.body.access_token;
      say("");
      loadUser();
      return true;
    }
    if (r.status === 400 && r.body.unknown_credential === true) {
      say("This passkey is not registered here (it may have been removed from its account). Use another way to sign in.", true);
      return false;
    }
    say(problem(r), true);
    return false;
  }

  // startConditional starts, where the browser offers passkeys in
  // autofill, a conditional request with a login ceremony of its own: it
  // signs in when the user picks a passkey in the username field's
  // suggestions. Nothing is said when there is no passkey to offer or the
  // request is given up; what the server answers to a passkey picked is.
  function startConditional() {
    stopConditional();
    if (!passkeysSupported() || typeof PublicKeyCredential.isConditionalMediationAvailable !== "function") {
      return;
    }
    var ctl = new AbortController();
    conditional = ctl;
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available || ctl.signal.aborted) {
        return;
      }
      return signInWithPasskey({ conditional: true, signal: ctl.signal }).then(function (r) {
        if (conditional === ctl) {
          conditional = null;
        }
        if (r && !r.begin && !ctl.signal.aborted) {
          signedInWithPasskey(r);
        }
      });
    }).catch(function () {
      if (conditional === ctl) {
        conditional = null;
      }
    });
  }

  function stopConditional() {
    if (conditional) {
      conditional.abort();
      conditional = null;
    }
  }

  // signUpWithPasskey creates an account with a passkey and no password:
  // POST /passkeys/signup/begin with the form's username (and email), the
  // browser's new credential, POST /passkeys/signup/finish. That answers
  // with tokens, as /token does; the page keeps its refresh token in the
  // cookie instead, so it then signs in with the new passkey as the
  // password sign-up signs in with the password (POST /session/passkey),
  // and ends the sign-up's own login (POST /logout with its refresh
  // token), which nothing holds any more.
  function signUpWithPasskey(form) {
    var username = form.username.value.trim();
    var email = form.email.value.trim();
    if (!username) {
      say("Enter a username.", true);
      form.username.focus();
      return;
    }
    if (!passkeysSupported()) {
      say("This browser does not support passkeys.", true);
      return;
    }
    stopConditional();
    say("");
    setBusy(form, true);
    var body = { username: username };
    if (email) {
      body.email = email;
    }
    api("POST", "passkeys/signup/begin", body).then(function (r) {
      if (r.status !== 200) {
        r.begin = true;
        return r;
      }
      var begun = r.body;
      return askBrowser("create", function () {
        return { publicKey: creationOptions(begun.publicKey) };
      }).then(function (cred) {
        return api("POST", "passkeys/signup/finish", { ceremony: begun.ceremony, credential: credentialJSON(cred) }).then(function (r) {
          if (r.status !== 201) {
            return r;
          }
          var refreshToken = r.body.refresh_token;
          var forget = function (session) {
            return api("POST", "logout", { refresh_token: refreshToken }).then(function () {
              return { created: true, session: session };
            }, function () {
              return { created: true, session: session };
            });
          };
          return signInWithPasskey({ allow: cred.rawId }).then(forget, function () { return forget(null); });
        });
      });
    }).then(function (r) {
      setBusy(form, false);
      if (!r.created) {
        say(r.begin && r.status === 404 ? passkeysOff : problem(r), true);
        form.username.focus();
        return;
      }
      if (r.session && r.session.status === 200) {
        accessToken = r.session.body.access_token;
        say(email ? "Account created. We mailed a link to confirm your email." : "Account created.");
        return loadUser();
      }
      say("Account created. Sign in with your passkey.");
      startConditional();
    }, passkeyFailed(form));
  }

  // showPasskeys fills the signed-in view's section on passkeys: the
  // list (GET /passkeys), each with a Remove button, and Add a passkey
  // (POST /passkeys/register/begin, the browser's new credential, POST
  // /passkeys/register/finish).
  function showPasskeys() {
    var add = document.getElementById("passkey-add");
    add.addEventListener("click", function () {
      if (!passkeysSupported()) {
        say("This browser does not support passkeys.", true);
        return;
      }
      say("");
      add.disabled = true;
      authed("POST", "passkeys/register/begin").then(function (r) {
        if (r.status !== 200) {
          return r;
        }
        var begun = r.body;
        return askBrowser("create", function () {
          return { publicKey: creationOptions(begun.publicKey) };
        }).then(function (cred) {
          return authed("POST", "passkeys/register/finish", { ceremony: begun.ceremony, credential: credentialJSON(cred) });
        });
      }).then(function (r) {
        add.disabled = false;
        if (r.status === 201) {
          say("Passkey added.");
          listPasskeys();
          return;
        }
        if (!sessionEnded(r)) {
          say(problem(r), true);
        }
      }, function (err) {
        add.disabled = false;
        passkeyFailed()(err);
      });
    });
    listPasskeys();
  }

  // listPasskeys shows the user's passkeys, and resolves to the answer of
  // GET /passkeys (null if it failed or the view has changed).
  function listPasskeys() {
    var line = document.getElementById("passkeys-line");
    var list = document.getElementById("passkeys");
    return authed("GET", "passkeys").then(function (r) {
      if (!list.isConnected) {
        return null;
      }
      if (r.status !== 200) {
        line.textContent = r.status === 404 ? passkeysOff : problem(r);
        document.getElementById("passkey-add").hidden = r.status === 404;
        return null;
      }
      var keys = r.body.passkeys || [];
      line.textContent = keys.length ? "These passkeys sign you in without a password:" : "No passkeys yet. Add one to sign in without a password.";
      list.replaceChildren.apply(list, keys.map(passkeyItem));
      return r.body;
    }, function () {
      line.textContent = "The server cannot be reached.";
      return null;
    });
  }

  function passkeyItem(k) {
    var item = document.createElement("li");
    var name = document.createElement("span");
    name.className = "name";
    name.id = "passkey-name-" + (++passkeySerial);
    name.textContent = k.name;
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary";
    remove.textContent = "Remove";
    remove.setAttribute("aria-describedby", name.id);
    remove.addEventListener("click", function () {
      removePasskey(k, remove);
    });
    var dates = document.createElement("span");
    dates.className = "dates";
    dates.textContent = "Created " + when(k.created_at) + ", " + (k.last_used_at ? "last used " + when(k.last_used_at) : "never used");
    item.append(name, remove, dates);
    return item;
  }

  function when(s) {
    var d = new Date(s);
    return isNaN(d.getTime()) ? String(s) : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  // removePasskey removes a passkey (DELETE /passkeys/{id}); the last way
  // to sign in cannot go (409 last_credential), and the server says why.
  // Then the browser learns which passkeys of the user the server still
  // accepts (Signal API), so that its password manager drops the other.
  function removePasskey(k, button) {
    say("");
    button.disabled = true;
    authed("DELETE", "passkeys/" + encodeURIComponent(k.id)).then(function (r) {
      button.disabled = false;
      if (r.status === 204) {
        say("Passkey removed.");
        return listPasskeys().then(function (now) {
          if (now && now.user_handle && passkeysSupported() &&
              typeof PublicKeyCredential.signalAllAcceptedCredentials === "function") {
            PublicKeyCredential.signalAllAcceptedCredentials({
              rpId: rpId,
              userId: now.user_handle,
              allAcceptedCredentialIds: (now.passkeys || []).map(function (p) { return p.id; })
            }).catch(function () {});
          }
        });
      }
      if (!sessionEnded(r)) {
        say(problem(r), true);
      }
    }, function () {
      button.disabled = false;
      say("The server cannot be reached. Try again.", true);
    });
  }

  // providers resolves to the server's providers, [{name, label}], from GET
  // /login/providers, asked once; none when the server has none (404), or
  // when it cannot say now (asked again next time).
  var providersAsked = null;
  function providers() {
    if (!providersAsked) {
      providersAsked = api("GET", "login/providers").then(function (r) {
        if (r.status === 200 && Array.isArray(r.body.providers)) {
          return r.body.providers;
        }
        if (r.status !== 404) {
          providersAsked = null;
        }
        return [];
      }, function () {
        providersAsked = null;
        return [];
      });
    }
    return providersAsked;
  }

  function providerLabel(p) {
    return p.label || p.name;
  }

  // showProviders fills the sign-in view's links to the providers, each
  // named by its label: the browser goes to the provider (GET
  // /login/NAME) and comes back signed in.
  function showProviders() {
    var section = document.getElementById("providers-section");
    var box = document.getElementById("providers");
    providers().then(function (list) {
      if (!box.isConnected || !list.length) {
        return;
      }
      box.replaceChildren.apply(box, list.map(function (p) {
        var a = document.createElement("a");
        a.className = "provider";
        a.href = "login/" + encodeURIComponent(p.name);
        a.textContent = providerLabel(p);
        return a;
      }));
      section.hidden = false;
    });
  }

  // showIdentities fills the signed-in view's section on other providers,
  // when the server has some.
  function showIdentities() {
    var section = document.getElementById("identities-section");
    providers().then(function (list) {
      if (!section.isConnected || !list.length) {
        return;
      }
      section.hidden = false;
      listIdentities(list);
    });
  }

  // listIdentities shows the provider accounts linked to the user (GET
  // /identities), each with an Unlink button, and a Link button for each
  // provider of list that has none.
  function listIdentities(list) {
    var line = document.getElementById("identities-line");
    var items = document.getElementById("identities");
    var links = document.getElementById("identity-links");
    return authed("GET", "identities").then(function (r) {
      if (!items.isConnected) {
        return;
      }
      if (r.status !== 200) {
        line.textContent = problem(r);
        return;
      }
      var ids = r.body.identities || [];
      var labels = {};
      var linked = {};
      list.forEach(function (p) { labels[p.name] = providerLabel(p); });
      ids.forEach(function (id) { linked[id.provider] = true; });
      line.textContent = ids.length ? "You also sign in with these accounts:" : "No account of another provider is linked to this one.";
      items.replaceChildren.apply(items, ids.map(function (id) {
        return identityItem(id, labels[id.provider] || id.provider, list);
      }));
      links.replaceChildren.apply(links, list.filter(function (p) { return !linked[p.name]; }).map(function (p) {
        var link = document.createElement("button");
        link.type = "button";
        link.className = "secondary";
        link.textContent = "Link " + providerLabel(p);
        link.addEventListener("click", function () {
          linkIdentity(p, link);
        });
        return link;
      }));
    }, function () {
      line.textContent = "The server cannot be reached.";
    });
  }

  function identityItem(id, label, list) {
    var item = document.createElement("li");
    var name = document.createElement("span");
    name.className = "name";
    name.id = "identity-name-" + (++passkeySerial);
    name.textContent = label;
    var unlink = document.createElement("button");
    unlink.type = "button";
    unlink.className = "secondary";
    unlink.textContent = "Unlink";
    unlink.setAttribute("aria-describedby", name.id);
    unlink.addEventListener("click", function () {
      unlinkIdentity(id, label, unlink, list);
    });
    var dates = document.createElement("span");
    dates.className = "dates";
    dates.textContent = (id.email ? id.email + ", linked " : "Linked ") + when(id.linked_at);
    item.append(name, unlink, dates);
    return item;
  }

  // unlinkIdentity unlinks a provider account (DELETE /identities/NAME);
  // the last way to sign in cannot go (409 last_credential), and the
  // server says why.
  function unlinkIdentity(id, label, button, list) {
    say("");
    button.disabled = true;
    authed("DELETE", "identities/" + encodeURIComponent(id.provider)).then(function (r) {
      button.disabled = false;
      if (r.status === 204) {
        say(label + " unlinked.");
        listIdentities(list);
        return;
      }
      if (!sessionEnded(r)) {
        say(problem(r), true);
      }
    }, function () {
      button.disabled = false;
      say("The server cannot be reached. Try again.", true);
    });
  }

  // linkIdentity asks to link an account of provider p (POST
  // /identities/NAME/link), and goes to the URL of the answer: the
  // provider, then back here. It needs a recent sign-in.
  function linkIdentity(p, button) {
    say("");
    button.disabled = true;
    authed("POST", "identities/" + encodeURIComponent(p.name) + "/link").then(function (r) {
      if (r.status === 200 && r.body.url) {
        location.assign(r.body.url);
        return;
      }
      button.disabled = false;
      if (r.status === 401 && r.body.error === "insufficient_user_authentication") {
        say("Linking an account needs a recent sign-in. Log out, sign in again, then link " + providerLabel(p) + ".", true);
        return;
      }
      if (!sessionEnded(r)) {
        say(problem(r), true);
      }
    }, function () {
      button.disabled = false;
      say("The server cannot be reached. Try again.", true);
    });
  }

  // sessionEnded handles a 401 after a refresh: the session is gone. It
  // reports whether it did.
  function sessionEnded(r) {
    if (r.status === 401) {
      say("Your session has ended. Log in again.", true);
      showSignedOut();
      return true;
    }
    return false;
  }

  function loadUser() {
    return authed("GET", "users/me").then(function (r) {
      if (r.status === 200) {
        showSignedIn(r.body);
        return;
      }
      if (r.status !== 401) {
        say(problem(r), true);
      }
      showSignedOut();
    });
  }

  function setBusy(form, busy) {
    form.querySelectorAll("button").forEach(function (b) { b.disabled = busy; });
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function failed(form) {
    return function () {
      if (form) {
        setBusy(form, false);
      }
      say("The server cannot be reached. Try again.", true);
    };
  }

  window.addEventListener("hashchange", function () {
    if (accessToken === null) {
      say("");
      showSignedOut();
    }
  });

  // takeMFAToken takes the mfa_token of the address's fragment, where a
  // provider's sign-in of a user with a second factor ends
  // (#mfa_token=…), out of the address (and so of the history), and
  // returns it; null when there is none.
  function takeMFAToken() {
    var m = /^#mfa_token=(.+)$/.exec(location.hash);
    if (!m) {
      return null;
    }
    history.replaceState(null, "", location.pathname + location.search);
    try {
      return decodeURIComponent(m[1]);
    } catch (e) {
      return null;
    }
  }

  // Start: the second factor of a provider's sign-in, or a cookie from an
  // earlier visit, which keeps the user signed in.
  var fragmentToken = takeMFAToken();
  if (fragmentToken) {
    showChallenge(fragmentToken, "otp");
    return;
  }
  refresh().then(function (ok) {
    if (ok) {
      return loadUser();
    }
    showSignedOut();
  }, function () {
    say("The server cannot be reached.", true);
    showSignedOut();
  });
})();
