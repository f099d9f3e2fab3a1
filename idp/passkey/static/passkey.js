// The page's side of the IdP's passkey ceremonies (WebAuthn): a button
// with data-passkey asks the server for options (data-options), hands them
// to the browser's authenticator, and sends the answer back (data-finish).
// The server answers {next} (where to go) or {error} (what went wrong,
// shown in the element with data-passkey-problem).
(function () {
  "use strict";

  function show(problem) {
    var box = document.querySelector("[data-passkey-problem]");
    if (!box) return;
    box.textContent = problem;
    box.hidden = false;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: body === undefined ? "{}" : JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (answer) {
        if (!resp.ok) throw new Error(answer.error || "The identity provider answered " + resp.status + ".");
        return answer;
      });
    });
  }

  function ceremony(button) {
    var register = button.dataset.passkey === "register";
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      show("This browser cannot use passkeys here. Use a current Chrome, Edge, Firefox or Safari, or sign in with your password.");
      return;
    }
    button.disabled = true;
    // Where the page goes once signed in: the server keeps it until then.
    post(button.dataset.options, { continue: button.dataset.continue || "" }).then(function (options) {
      if (register) {
        return navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey) });
      }
      return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey) });
    }).then(function (credential) {
      if (!credential) throw new Error("No passkey was chosen.");
      return post(button.dataset.finish, credential.toJSON());
    }).then(function (answer) {
      window.location.assign(answer.next || "/");
    }).catch(function (err) {
      button.disabled = false;
      if (err && err.name === "NotAllowedError") {
        show("The passkey request was cancelled or timed out. Try again when you are ready.");
      } else if (err && err.name === "InvalidStateError") {
        show("This authenticator already holds a passkey for you here.");
      } else {
        show(err && err.message ? err.message : String(err));
      }
    });
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-passkey]");
    if (!button) return;
    e.preventDefault();
    ceremony(button);
  });
})();
