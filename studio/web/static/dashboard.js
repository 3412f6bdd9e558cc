// Inspection Studio web dashboard: follows the result log live. Shipped in the package (no CDN).
// The server renders every page; this script only listens to /api/events (server-sent events) and,
// when the log changed, fetches the current page's body (?fragment=1) and swaps it in. Without it
// (or when the stream is down) the page still shows its figures; reload by hand.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var main = document.getElementById("main");
  if (!live || !main || !window.EventSource) { return; }
  var busy = false, again = false, lastChange = Date.now();

  function say(text, cls) { live.textContent = text; live.className = "live " + (cls || ""); }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    var q = new URLSearchParams(window.location.search);
    q.set("fragment", "1");
    fetch(window.location.pathname + "?" + q.toString(), { cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var open = {};
        main.querySelectorAll("details").forEach(function (d, i) { if (d.open) { open[i] = true; } });
        main.innerHTML = html;
        main.querySelectorAll("details").forEach(function (d, i) { if (open[i]) { d.open = true; } });
        say("read-only · live · " + new Date().toLocaleTimeString(), "ok");
      })
      .catch(function () { say("read-only · update failed, retrying", "bad"); })
      .then(function () {
        busy = false;
        if (again) { again = false; window.setTimeout(refresh, 250); }
      });
  }

  var events = new EventSource("/api/events");
  var first = true;
  events.addEventListener("update", function () {
    lastChange = Date.now();
    if (first) { first = false; say("read-only · live", "ok"); return; }   // the page is already fresh
    refresh();
  });
  events.onopen = function () { say("read-only · live", "ok"); };
  events.onerror = function () { say("read-only · connection lost, reconnecting", "bad"); };
  // the hours move on even when no part comes: redraw once a minute anyway
  window.setInterval(function () { if (Date.now() - lastChange > 60000) { refresh(); } }, 60000);
})();
