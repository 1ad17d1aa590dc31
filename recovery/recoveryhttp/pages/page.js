"use strict";
// The page of a mailed link: its form POSTs the link's token (from the
// address bar) to the endpoint named by the form's data-endpoint, relative
// to the page, so that opening the link spends nothing.
(function () {
  var form = document.querySelector("form");
  var status = document.getElementById("status");
  var button = form.querySelector("button");
  var token = new URLSearchParams(location.search).get("token") || "";
  function say(text, kind) {
    status.textContent = text;
    status.className = kind;
  }
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) {
    say("This link is incomplete. Open the link from the mail again, or ask for a new one.", "error");
    button.disabled = true;
    return;
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = { token: token };
    var field = form.querySelector("input[name]");
    if (field) {
      body[field.name] = field.value;
    }
    button.disabled = true;
    say("Working…", "");
    fetch(form.dataset.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "no-referrer"
    }).then(function (resp) {
      if (resp.status === 204) {
        form.hidden = true;
        say(form.dataset.done, "done");
        var next = document.getElementById("next");
        if (next) {
          next.hidden = false;
        }
        return;
      }
      return resp.json().catch(function () { return {}; }).then(function (e) {
        button.disabled = false;
        switch (resp.status) {
        case 400:
          if (e.error === "invalid_grant") {
            button.disabled = true;
            say("This link is no longer valid: it was used already, it expired, or a newer one was sent. Ask for a new one.", "error");
            return;
          }
          break;
        case 409:
          button.disabled = true;
          say("This address now belongs to another account.", "error");
          return;
        case 422:
          say(e.error_description || "The password does not meet the rules.", "error");
          if (field) {
            field.focus();
          }
          return;
        case 429:
          say("Too many attempts. Try again in " + (resp.headers.get("Retry-After") || "a few") + " seconds.", "error");
          return;
        }
        say("Something went wrong (" + (e.error || resp.status) + "). Try again later.", "error");
      });
    }, function () {
      button.disabled = false;
      say("The service cannot be reached. Try again.", "error");
    });
  });
})();
