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
    form.querySelectorAll("button").forEach(function (b) {
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
      if (!loginPassword) {
        showSetupPassword();
        return;
      }
      // The password typed at this page's login: straight to the QR code.
      // (After a reload the page has none, and asks for it.)
      setup.disabled = true;
      authed("POST", "mfa/totp", { password: loginPassword }).then(function (r) {
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
        line.textContent = "Two-factor authentication is off: your password alone logs you in.";
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

  // Start: a cookie from an earlier visit keeps the user signed in.
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
