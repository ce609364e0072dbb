// The user's own live stream (/me/live), on pages that follow no room: the bell's unread
// count changes without a reload, and so do the parts that say what became of one's pulses
// and requests to join a community. Room pages get the same frames on their room socket
// (hx-ws swaps the bell there), so this does nothing where a room socket is open.
(function () {
  "use strict";

  var PING_MS = 20000;       // well within the server's idle timeout (60 s by default)
  var MAX_BACKOFF_MS = 30000;
  var STOPPED = { 1008: true, 1009: true };  // access gone or limits: do not come back

  function bell(unread) {
    var item = document.getElementById("notification-bell");
    if (!item) return;
    var link = item.querySelector("a");
    var count = item.querySelector(".bell-count");
    // The words come from the page (data-label*), in its language.
    if (link) link.setAttribute("aria-label", unread ? item.dataset.labelUnread.replace("{num}", unread) : item.dataset.label);
    if (!unread) {
      if (count) count.remove();
      return;
    }
    if (!count && link) {
      count = document.createElement("span");
      count.className = "badge bell-count";
      link.appendChild(count);
    }
    if (count) count.textContent = unread < 100 ? String(unread) : "99+";
  }

  // Pulses: the server says only which pulse changed; the page fetches its part again (the
  // results the viewer may see, or the home page's list), unless the viewer is typing in it.
  function refresh(parts) {
    Array.prototype.forEach.call(parts, function (part) {
      if (part.contains(document.activeElement) && document.activeElement.tagName === "TEXTAREA") return;
      fetch(part.getAttribute("data-live-src"), { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (text) {
          if (text === null || !part.parentNode) return;
          var holder = document.createElement("div");
          holder.innerHTML = text;
          var fresh = holder.firstElementChild;
          if (!fresh) return;
          part.replaceWith(fresh);
          if (window.htmx) window.htmx.process(fresh);
        });
    });
  }

  function start() {
    if (!document.getElementById("notification-bell") || document.querySelector("[hx-ws\\:connect]")) return;
    var url = new URL("/me/live?format=json", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    var backoff = 1000;
    var pinger = null;

    function connect() {
      var socket = new WebSocket(url.href);
      socket.addEventListener("open", function () {
        backoff = 1000;
        pinger = setInterval(function () {
          if (socket.readyState === WebSocket.OPEN) socket.send('{"type":"ping"}');
        }, PING_MS);
      });
      socket.addEventListener("message", function (event) {
        var frame;
        try { frame = JSON.parse(event.data); } catch (e) { return; }
        if (frame && frame.kind === "notifications.unread" && frame.data) bell(frame.data.unread || 0);
        if (frame && frame.kind === "pulse.sent") refresh(document.querySelectorAll("[data-pulse-home]"));
        if (frame && frame.kind === "join_request.answered" && frame.data && typeof frame.data.slug === "string") {
          refresh(document.querySelectorAll('[data-join-request-live="' + CSS.escape(frame.data.slug) + '"]'));
        }
        if (frame && frame.kind === "pulse.results" && frame.data) {
          refresh(document.querySelectorAll('[data-pulse-live="' + Number(frame.data.pulse_id) + '"]'));
        }
      });
      socket.addEventListener("close", function (event) {
        clearInterval(pinger);
        if (STOPPED[event.code]) return;
        setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      });
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
