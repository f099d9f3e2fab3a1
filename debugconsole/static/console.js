// Live updates for the debug console: when a run starts or ends, the
// server says so over server-sent events and the run list is fetched again.
(function () {
  var targets = document.querySelectorAll("[data-live]");
  if (!targets.length || !window.EventSource) return;
  function refresh() {
    targets.forEach(function (el) {
      fetch(el.getAttribute("data-live"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) el.innerHTML = html; });
    });
  }
  var drawer = document.querySelector("details.drawer");
  if (drawer) drawer.addEventListener("toggle", function () { if (drawer.open) refresh(); });
  var events = new EventSource("/debug/events");
  var pending = null;
  events.onmessage = function () {
    if (drawer && !drawer.open) return;
    clearTimeout(pending);
    pending = setTimeout(refresh, 150); // let the other services record their steps
  };
})();

// Copy buttons of the Code tab: the snippet beside the button, as text.
document.addEventListener("click", function (e) {
  var button = e.target.closest && e.target.closest("button[data-copy]");
  if (!button || !navigator.clipboard) return;
  var pre = button.parentElement.querySelector("pre");
  navigator.clipboard.writeText(pre.textContent).then(function () {
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = "Copy"; }, 1500);
  });
});
