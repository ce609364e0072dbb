// What the page scripts use of htmx 4 and its hx-ws extension beyond their documented API,
// in one place. Read against htmx 4.0.1 (CHECKED_WITH), the release vendored in
// static/vendor/htmx (VENDORED.md has its checksums); "hx-ws.js:N" is a line of its
// ext/hx-ws.js. live.js and room.js reach these only through window.InnovateHxWs.
//
// - connection.socket, read: the WebSocket of a connection (event.detail.connection of the
//   htmx:ws:* events, hx-ws.js:89-101, 173). live.js sends its pings and typing signals on
//   it: they are not htmx requests, and hx-ws:send would add htmx headers and queue them
//   while disconnected.
// - connection.url, written: hx-ws opens every new socket of a connection at connection.url
//   as it is at that moment (createWebSocket, hx-ws.js:154-173), so live.js puts
//   ?after=<last seq> there before each reconnect and the server replays what was missed.
// - connection.timer, connection.visibilityHandler, connection.socket = null: a new socket at
//   once, for one that died without a close event. hx-ws replaces a socket only after its
//   close event (for a dead connection, a minute or more) and a backoff (the timer,
//   hx-ws.js:263); its "tab visible again" handler opens a socket at once when the
//   connection has none (hx-ws.js:115-127), and detaches the old socket's listeners.
// - element._htmx.ws.initialized: whether hx-ws has set up the hx-ws:connect element
//   (hx-ws.js:468-480). htmx starts from a timer that can run before the extension's
//   (deferred) script registers it; room.js processes the element again only when the
//   extension missed it, since processing it twice would open a second connection.
//
// On an upgrade of the vendored htmx: run tests/browser/test_hxws_adapter.py. It fails while
// selfCheck() reports a problem (the version first, so that each upgrade reads this list)
// or when a socket is no longer replaced at once; confirm each item above in the new
// ext/hx-ws.js, change this file only, then CHECKED_WITH.
(function () {
  "use strict";

  var CHECKED_WITH = "4.0.1";
  var lastConnection = null;  // the latest connection an htmx:ws:* event carried
  var warned = false;

  function socketOf(connection) {
    return (connection && connection.socket) || null;
  }

  // Send text on the connection's socket if it is open; false if it was not sent.
  function send(connection, text) {
    var socket = socketOf(connection);
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(text);
    return true;
  }

  function url(connection) {
    return connection.url;
  }

  // The URL the connection's next socket opens at.
  function setUrl(connection, value) {
    connection.url = value;
  }

  // Replace the connection's socket now rather than after its close event and a backoff.
  // The old socket's listeners are detached by hx-ws when it creates the new one; a hidden
  // tab gets its socket back from hx-ws when it is shown again, so only the old one closes.
  function reopenNow(connection) {
    var old = socketOf(connection);
    if (typeof connection.visibilityHandler === "function" && !document.hidden) {
      clearTimeout(connection.timer);
      connection.socket = null;
      connection.visibilityHandler();
    }
    if (old && old.readyState !== WebSocket.CLOSED) {
      try { old.close(); } catch (e) { /* already closing */ }
    }
  }

  // Has hx-ws set up this hx-ws:connect element (so processing it again would duplicate it)?
  function initialized(element) {
    var state = element._htmx && element._htmx.ws;
    return !!(state && state.initialized);
  }

  // What this file relies on that the loaded htmx does not provide, as sentences; [] when
  // all is there. With an element, it checks hx-ws's state on it; with a connection (by
  // default the latest one seen), the fields above, once a socket has opened.
  function selfCheck(element, connection) {
    var problems = [];
    var htmx = window.htmx;
    if (!htmx) return ["htmx is not loaded"];
    if (htmx.version !== CHECKED_WITH) {
      problems.push("htmx " + htmx.version + " is loaded; hxws-adapter.js was checked against " + CHECKED_WITH);
    }
    if (element) {
      var state = element._htmx && element._htmx.ws;
      if (!state || typeof state !== "object") problems.push("element._htmx.ws is missing on the hx-ws:connect element");
      else if (state.initialized !== true) problems.push("element._htmx.ws.initialized is not true on the hx-ws:connect element");
    }
    var c = connection === undefined ? lastConnection : connection;
    if (!c) {
      problems.push("no htmx:ws:* event has carried a connection yet");
      return problems;
    }
    if (typeof c.url !== "string") problems.push("connection.url is not a string");
    if (!(c.socket instanceof WebSocket)) problems.push("connection.socket is not a WebSocket");
    else if (c.socket.url !== c.url) problems.push("connection.socket was not opened at connection.url");
    if (!("timer" in c)) problems.push("connection.timer is missing");
    if (typeof c.visibilityHandler !== "function") problems.push("connection.visibilityHandler is not a function");
    return problems;
  }

  function remember(event) {
    var connection = event.detail && event.detail.connection;
    if (connection) lastConnection = connection;
  }

  // Once a socket is open, say in the console if anything above is missing: the page keeps
  // working on hx-ws's own reconnects, only later.
  function checkOnce(event) {
    remember(event);
    if (warned) return;
    warned = true;
    var problems = selfCheck(null, lastConnection);
    if (problems.length) console.warn("hxws-adapter.js: " + problems.join("; "));
  }

  document.addEventListener("htmx:ws:before:connection", remember);
  document.addEventListener("htmx:ws:after:connection", checkOnce);
  document.addEventListener("htmx:ws:close", remember);

  window.InnovateHxWs = {
    CHECKED_WITH: CHECKED_WITH,
    send: send,
    url: url,
    setUrl: setUrl,
    reopenNow: reopenNow,
    initialized: initialized,
    selfCheck: selfCheck
  };
})();
