// Live updates for the debug console: when a run starts or ends, the
// server says so over server-sent events and the run list is fetched again.
// What the presenter opened stays open: the runs and steps they unfolded,
// the tab and the language they chose, and the runs they pinned (kept in
// this browser, and sent with each fetch so the server keeps them listed).
(function () {
  var PINS = "xaa-console-pins";
  function pins() {
    try { return JSON.parse(localStorage.getItem(PINS) || "[]"); } catch (e) { return []; }
  }
  function savePins(list) {
    try { localStorage.setItem(PINS, JSON.stringify(list.slice(-20))); } catch (e) { /* private mode */ }
  }

  // unfolded is what the presenter opened or closed by hand, by element
  // id; anything else takes the server's default (the newest run open).
  // Working inside a run (a step, a tab) keeps that run open too.
  var unfolded = {};
  document.addEventListener("click", function (e) {
    if (!e.target.closest) return;
    var run = e.target.closest(".run > details[id]");
    var summary = e.target.closest("details[id] > summary");
    if (summary && !e.target.closest("button")) {
      var d = summary.parentElement;
      setTimeout(function () { unfolded[d.id] = d.open; }, 0);
      if (run && run !== d) unfolded[run.id] = true;
    } else if (run && e.target.closest("label, button")) {
      unfolded[run.id] = true;
    }
  });

  // state is what the presenter chose under el.
  function state(el) {
    var s = { checked: [], scroll: window.scrollY };
    el.querySelectorAll("input[type=radio][id]:checked").forEach(function (i) { s.checked.push(i.id); });
    return s;
  }
  function restore(el, s) {
    el.querySelectorAll("details[id]").forEach(function (d) {
      if (d.id in unfolded) d.open = unfolded[d.id];
    });
    s.checked.forEach(function (id) {
      var input = document.getElementById(id);
      if (input && el.contains(input)) input.checked = true;
    });
    markPins(el);
    window.scrollTo(0, s.scroll);
  }
  function markPins(el) {
    var pinned = pins();
    el.querySelectorAll("[data-pin]").forEach(function (b) {
      var on = pinned.indexOf(b.getAttribute("data-pin")) >= 0;
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.textContent = on ? "Pinned" : "Pin";
      var run = b.closest(".run");
      if (run) run.classList.toggle("pinned", on);
    });
  }

  var targets = document.querySelectorAll("[data-live]");
  targets.forEach(markPins);

  function refresh() {
    targets.forEach(function (el) {
      var url = el.getAttribute("data-live");
      var pinned = pins();
      if (pinned.length) url += (url.indexOf("?") >= 0 ? "&" : "?") + "pin=" + encodeURIComponent(pinned.join(","));
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var s = state(el);
          el.innerHTML = html;
          restore(el, s);
        });
    });
  }

  document.addEventListener("click", function (e) {
    var pin = e.target.closest && e.target.closest("button[data-pin]");
    if (pin) {
      // A button in a summary would also fold the run: only pin.
      e.preventDefault();
      var id = pin.getAttribute("data-pin"), list = pins(), i = list.indexOf(id);
      if (i >= 0) list.splice(i, 1); else list.push(id);
      savePins(list);
      targets.forEach(markPins);
      return;
    }
    // Copy buttons of the Code tab: the snippet beside the button, as text.
    var button = e.target.closest && e.target.closest("button[data-copy]");
    if (!button || !navigator.clipboard) return;
    var pre = button.parentElement.querySelector("pre");
    navigator.clipboard.writeText(pre.textContent).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    });
  });

  if (!targets.length || !window.EventSource) return;
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
