// The live side of a room page, on top of htmx 4's hx-ws (which swaps the frames' HTML).
//
// - keeps the last seq the page has (from #room[data-last-seq], then from every frame),
//   drops frames it already has, and puts ?after=<last seq> in the socket URL before each
//   reconnect, so a reconnect replays exactly what was missed;
// - close codes: 4000 (too far behind) reloads the page; 1008/1009 (access gone, limits)
//   stop live updates and say so; the others reconnect with hx-ws's backoff;
// - pings the server while connected (it closes sockets that stay silent); a ping that gets
//   no answer means the socket died without a close event, and coming back online after
//   going offline may leave such a socket too: in both cases a fresh socket replaces it at
//   once (with ?after=, so nothing is lost and, seqs being filtered, nothing is repeated);
// - sends "typing" signals from the composers and shows who is typing in each thread;
// - shows who is here now on the member list (#presence-<user id>);
// - says in a banner (#connection-banner) when the page is offline or has lost its
//   connection, with the time of its last update, until the socket is open again.
// What it needs of hx-ws beyond its documented API goes through hxws-adapter.js (HxWs).
(function () {
  "use strict";

  var HxWs = window.InnovateHxWs;

  var PING_MS = 20000;          // well within the server's idle timeout (60 s by default)
  var PONG_MS = 10000;          // the server answers a ping at once; silence this long: dead socket
  var TYPING_EVERY_MS = 2500;   // the server relays one signal per person every 2 s at most
  var RELOAD = 4000;
  var STOPPED = { 1008: "You can no longer follow this room live.", 1009: "Live updates stopped." };
  var BANNER_AFTER_MS = 5000;   // a connection lost for this long gets the banner

  var room = null;
  var lastSeq = 0;
  var connection = null;
  var pinger = null;
  var watchdog = null;
  var lastHeard = Date.now();  // when the page was last up to date (loaded, or a frame came)
  var everOpen = false;
  var bannerTimer = null;
  var lastTyping = 0;
  var typing = {};             // thread key -> {user id -> {name, until}}
  var present = null;          // the last presence frame's data: who is here now

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function parse(data) {
    if (typeof data !== "string") return null;
    try { return JSON.parse(data); } catch (e) { return null; }
  }

  function send(value) {
    if (connection) HxWs.send(connection, JSON.stringify(value));
  }

  function withAfter(url) {
    var u = new URL(url, location.href);
    u.searchParams.set("after", String(lastSeq));
    return u.href;
  }

  function setState(state) {
    if (room) room.dataset.live = state;
    showBanner(state);
  }

  // The banner: offline at once; a lost connection once it has not come back for a moment
  // (most come back within a second); gone when the socket is open again.
  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function fillBanner(text) {
    var banner = $("#connection-banner");
    if (!banner) return;
    if (!text) {
      banner.textContent = "";
      return;
    }
    // Plain text: a <time datetime> would be rewritten as a full date by app.js.
    var line = document.createElement("p");
    line.textContent = text + " Last update at " + clock(lastHeard) + ".";
    banner.replaceChildren(line);
  }

  function showBanner(state) {
    clearTimeout(bannerTimer);
    if (state === "open") fillBanner("");
    else if (state === "offline") fillBanner("You are offline. New messages will appear when you are back online.");
    else if (state === "reconnecting" && everOpen) {
      bannerTimer = setTimeout(function () {
        if (room.dataset.live !== "open") fillBanner("The connection was lost. Reconnecting…");
      }, BANNER_AFTER_MS);
    }
  }

  // Seq bookkeeping ------------------------------------------------------------------------

  function onBeforeIncoming(event) {
    lastHeard = Date.now();
    var frame = parse(event.detail.message.data);
    if (!frame) return;
    if (typeof frame.seq === "number" && frame.seq <= lastSeq) {
      event.preventDefault();  // a repeat: the page already shows it
    }
  }

  function onAfterIncoming(event) {
    var frame = parse(event.detail.message.data);
    if (!frame) return;
    if (typeof frame.seq === "number" && frame.seq > lastSeq) {
      lastSeq = frame.seq;
      room.dataset.lastSeq = String(lastSeq);
    }
    if (frame.kind === "presence") showPresence(frame.data || {});
    else if (frame.content && present) showPresence(present);  // rows drawn anew start "offline"
    if (frame.kind === "typing") showTyping(frame.data || {});
    else if (frame.kind === "standing") applyStanding(frame.data || {});
  }

  // Connection lifecycle --------------------------------------------------------------------

  function onConnected(event) {
    connection = event.detail.connection;
    lastHeard = Date.now();
    everOpen = true;
    setState("open");
    clearInterval(pinger);
    pinger = setInterval(ping, PING_MS);
  }

  function ping() {
    if (!navigator.onLine) return;  // the "online" event takes over
    var sentAt = Date.now();
    send({ type: "ping" });
    clearTimeout(watchdog);
    watchdog = setTimeout(function () {
      if (lastHeard < sentAt && navigator.onLine) freshSocket();
    }, PONG_MS);
  }

  // Replace the current socket now. hx-ws only replaces a socket after its close event, which
  // for a dead connection can take a minute (the closing handshake times out), and after a
  // backoff that grows while the network is down.
  function freshSocket() {
    var current = connection;
    if (!current) return;
    clearInterval(pinger);
    clearTimeout(watchdog);
    HxWs.setUrl(current, withAfter(HxWs.url(current)));
    setState("reconnecting");
    HxWs.reopenNow(current);
  }

  function onOffline() {
    clearTimeout(watchdog);
    setState("offline");  // the banner says so (it is a live region)
  }

  function onOnline() {
    announce("Back online.");
    freshSocket();
  }

  function onClose(event) {
    clearInterval(pinger);
    clearTimeout(watchdog);
    pinger = null;
    var detail = event.detail || {};
    if (detail.connection) HxWs.setUrl(detail.connection, withAfter(HxWs.url(detail.connection)));
    var code = detail.code;
    if (code === RELOAD) {
      setState("reloading");
      location.reload();
      return;
    }
    if (STOPPED[code]) {
      setState("stopped");
      fillBanner(STOPPED[code] + " Reload the page to see the latest.");
      return;
    }
    setState("reconnecting");
  }

  function onBeforeConnection(event) {
    var detail = event.detail || {};
    if (detail.connection) {
      connection = detail.connection;
      HxWs.setUrl(connection, withAfter(HxWs.url(connection)));
    }
    setState("connecting");
  }

  function announce(text) {
    var region = $("#live-announcer");
    if (region) region.textContent = text;
  }

  // Presence -------------------------------------------------------------------------------

  // Presence is sent when it changes, not with every frame; a member row a frame redraws
  // (a mute, a role) comes from the server marked offline, so the page marks it again.
  function showPresence(data) {
    present = data;
    var here = {};
    (data.users || []).forEach(function (user) { here[user.id] = user; });
    var panel = $("#members-panel");
    if (!panel) return;
    var words = panel.dataset;  // in the page's language (rooms/_members.html)
    $all("[id^='presence-'][data-presence]", panel).forEach(function (dot) {
      var id = dot.id.slice("presence-".length);
      var online = Object.prototype.hasOwnProperty.call(here, id);
      dot.dataset.presence = online ? "online" : "offline";
      dot.title = online ? words.hereTitle : words.awayTitle;
      var label = $(".visually-hidden", dot);
      if (label) label.textContent = online ? words.here : words.away;
    });
    panel.dataset.online = String(data.count || 0);
  }

  // Typing ---------------------------------------------------------------------------------

  function threadKeyOf(form) {
    var idea = form.querySelector("input[name=idea_id]");
    return idea && idea.value ? "idea-" + idea.value : "room";
  }

  function onInput(event) {
    var form = event.target.closest && event.target.closest("form.composer");
    if (!form || event.target.tagName !== "TEXTAREA") return;
    var now = Date.now();
    if (now - lastTyping < TYPING_EVERY_MS || !event.target.value) return;
    lastTyping = now;
    var idea = form.querySelector("input[name=idea_id]");
    send({ type: "typing", idea_id: idea && idea.value ? Number(idea.value) : null });
  }

  function typingLine(key) {
    var id = "typing-" + key;
    var line = document.getElementById(id);
    if (!line) {
      var composer = document.getElementById("composer-" + key);
      if (!composer) return null;
      line = document.createElement("p");
      line.id = id;
      line.className = "typing";
      line.setAttribute("aria-live", "polite");
      composer.parentNode.insertBefore(line, composer);
    }
    return line;
  }

  function renderTyping(key) {
    var line = typingLine(key);
    if (!line) return;
    var now = Date.now(), names = [], people = typing[key] || {};
    Object.keys(people).forEach(function (id) {
      if (people[id].until > now) names.push(people[id].name);
      else delete people[id];
    });
    if (!names.length) line.textContent = "";
    else if (names.length === 1) line.textContent = names[0] + " is typing…";
    else if (names.length === 2) line.textContent = names[0] + " and " + names[1] + " are typing…";
    else line.textContent = "Several people are typing…";
    line.hidden = !names.length;
  }

  function showTyping(data) {
    var user = data.user;
    if (!user || String(user.id) === room.dataset.userId) return;
    var key = data.idea_id ? "idea-" + data.idea_id : "room";
    var ttl = (data.expires_in || 6) * 1000;
    (typing[key] = typing[key] || {})[user.id] = { name: user.name, until: Date.now() + ttl };
    renderTyping(key);
    setTimeout(function () { renderTyping(key); }, ttl + 50);
  }

  // Own standing (a mute that ended early, a role change) ------------------------------------

  function applyStanding(data) {
    var standing = $("#my-standing");
    if (!standing) return;
    var copy = standing.cloneNode(false);
    copy.dataset.mutedUntil = data.muted_until || "";
    // Replacing the element (rather than editing it) lets room.js notice and re-apply the forms.
    standing.replaceWith(copy);
  }

  // Start ----------------------------------------------------------------------------------

  function start() {
    room = document.getElementById("room");
    if (!room || !room.hasAttribute("hx-ws:connect")) return;
    lastSeq = parseInt(room.dataset.lastSeq || "0", 10) || 0;
    setState("connecting");
    room.addEventListener("htmx:ws:before:connection", onBeforeConnection);
    room.addEventListener("htmx:ws:after:connection", onConnected);
    room.addEventListener("htmx:ws:close", onClose);
    room.addEventListener("htmx:ws:before:message:incoming", onBeforeIncoming);
    room.addEventListener("htmx:ws:after:message:incoming", onAfterIncoming);
    document.addEventListener("input", onInput);
    window.addEventListener("offline", onOffline);
    window.addEventListener("online", onOnline);
  }

  // Registered before htmx processes the page (on DOMContentLoaded), so the first
  // connection's events are seen too.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
