// Reading and posting in a room's threads, on top of room.js (de-duplication, ordering, the
// "New messages" button) and live.js (the socket). Everything here is an enhancement.
//
// - Unread markers: each thread remembers, in this browser (localStorage), the newest message
//   its reader has seen. Newer messages from others are marked unread, after a "New" divider;
//   a message counts as read once it has been on screen in a visible tab. While the tab is
//   hidden, the page title counts the unread messages.
// - Optimistic posting: a composer's message shows in its thread at once, marked "Sending…",
//   and makes way for the real one (the post's answer or the live event, whichever comes
//   first). A failed connection keeps the text in the composer and says so there.
// The composer's keys, drafts and focus are composer.js's.
(function () {
  "use strict";

  var STORE = "innovate:seen:";

  var room = null;
  var titleBase = "";
  var seen = {};             // thread key -> newest message id seen
  var known = {};            // message id -> "visible" | "hidden" (what the page has shown)
  var oldest = {};           // thread key -> smallest id on the page at load ("load older" goes below it)
  var onScreen = null;       // IntersectionObserver: which messages the reader has in view
  var inView = new Set();

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function messageId(el) {
    var match = /^message-(\d+)$/.exec(el.id || "");
    return match ? parseInt(match[1], 10) : null;
  }

  function threadOf(el) { return el.closest("ol.thread[id^='thread-']"); }
  function keyOf(thread) { return thread.id.slice("thread-".length); }
  function isOwn(li) { return !!li.dataset.authorId && li.dataset.authorId === room.dataset.userId; }
  function shown(li) { return !li.hidden && !li.classList.contains("pending"); }

  // Remembering what was seen -----------------------------------------------------------------

  // Per person too: people who share a browser profile keep their own markers.
  function storageKey(key) { return STORE + room.dataset.userId + ":" + room.dataset.room + ":" + key; }

  function load(key) {
    try {
      var value = parseInt(localStorage.getItem(storageKey(key)), 10);
      return isNaN(value) ? null : value;
    } catch (e) {
      return null;  // storage refused (private mode, policy): no markers, nothing breaks
    }
  }

  function markSeen(key, id) {
    if (seen[key] !== undefined && seen[key] !== null && id <= seen[key]) return;
    seen[key] = id;
    try { localStorage.setItem(storageKey(key), String(id)); } catch (e) { /* see load() */ }
  }

  // Unread markers ----------------------------------------------------------------------------

  function unreadTotal() { return $all("li.message.unread").length; }

  function updateTitle() {
    var count = unreadTotal();
    document.title = document.hidden && count ? "(" + count + ") " + titleBase : titleBase;
  }

  function markUnread(li) {
    li.classList.add("unread");
    var thread = threadOf(li);
    if (thread && !$(".unread-divider", thread)) {
      var divider = document.createElement("li");
      divider.className = "unread-divider";
      divider.innerHTML = "<span>New</span><span class=\"visually-hidden\"> messages from here on</span>";
      thread.insertBefore(divider, li);
    }
    updateTitle();
  }

  function read(li) {
    var id = messageId(li), thread = threadOf(li);
    if (id === null || !thread) return;
    markSeen(keyOf(thread), id);
    if (li.classList.contains("unread")) {
      li.classList.remove("unread");
      li.classList.add("was-unread");  // the highlight fades (CSS) rather than vanishing
      updateTitle();
    }
  }

  function readWhatIsInView() {
    inView.forEach(function (li) {
      if (!li.isConnected) {  // replaced by a live update: its successor is watched instead
        inView.delete(li);
        onScreen.unobserve(li);
      } else if (!document.hidden) {
        read(li);
      }
    });
  }

  function watch(li) {
    if (onScreen) onScreen.observe(li);
  }

  function onIntersect(entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) inView.add(entry.target);
      else inView.delete(entry.target);
    });
    readWhatIsInView();
  }

  function clearDivider(thread) {
    $all(".unread-divider", thread).forEach(function (d) { d.remove(); });
    $all("li.message.unread", thread).forEach(function (li) { li.classList.remove("unread"); });
    updateTitle();
  }

  function atLatest(thread) {
    var scroller = thread.closest(".thread-scroll");
    if (!scroller) return true;
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  // Arrivals ----------------------------------------------------------------------------------

  function arrived(li) {
    var id = messageId(li), thread = threadOf(li);
    if (id === null || !thread || !li.isConnected) return;
    var key = keyOf(thread), before = known[id];
    known[id] = shown(li) ? "visible" : "hidden";
    if (!shown(li)) return;
    watch(li);
    // New to this reader: an id the page never had (and not an older page loaded above), or a
    // post that was held or hidden and now shows. Edits and moves keep their id.
    var fresh = before === undefined ? id > (oldest[key] || 0) : before === "hidden";
    if (!fresh) return;
    if (isOwn(li)) {
      settlePending(thread);
      clearDivider(thread);
      markSeen(key, id);
      return;
    }
    if (document.hidden || !atLatest(thread)) markUnread(li);
  }

  function onMutations(records) {
    records.forEach(function (record) {
      Array.prototype.forEach.call(record.addedNodes, function (node) {
        if (node.nodeType !== 1) return;
        if (node.matches("li.message")) arrived(node);
        else $all("li.message", node).forEach(arrived);
      });
    });
  }

  // Optimistic posting ------------------------------------------------------------------------

  function pendingFor(form) {
    var key = form.id.replace(/^composer-/, "");
    var thread = document.getElementById("thread-" + key);
    var text = ($("textarea[name=body]", form) || {}).value || "";
    if (!thread || !text.trim()) return null;
    var li = document.createElement("li");
    li.className = "message pending";
    li.setAttribute("aria-busy", "true");
    var article = document.createElement("article");
    var meta = document.createElement("header");
    meta.className = "message-meta";
    var who = document.createElement("span");
    who.className = "person";
    who.textContent = "You";
    var state = document.createElement("span");
    state.className = "sending";
    state.textContent = "Sending…";
    meta.append(who, state);
    var body = document.createElement("div");
    body.className = "message-body pending-body";
    body.textContent = text;  // the server renders the Markdown; until then, the plain text
    article.append(meta, body);
    li.append(article);
    thread.append(li);
    var empty = document.getElementById("empty-" + key);
    if (empty) empty.hidden = true;
    return li;
  }

  function settlePending(thread) {
    $all("li.message.pending", thread).forEach(function (li) { li.remove(); });
  }

  function composerOf(event) {
    var ctx = event.detail && event.detail.ctx;
    var source = ctx && ctx.sourceElement;
    return source && source.matches && source.matches("form.composer") ? source : null;
  }

  function onBeforeRequest(event) {
    var form = composerOf(event);
    if (!form) return;
    var alert = document.getElementById(form.id + "-sending-failed");
    if (alert) alert.remove();
    event.detail.ctx.pendingMessage = pendingFor(form);
  }

  function onFinally(event) {
    var ctx = event.detail && event.detail.ctx;
    var li = ctx && ctx.pendingMessage;
    if (!li) return;
    ctx.pendingMessage = null;
    var thread = li.parentNode;
    li.remove();
    // Nothing was posted (a refusal, or no answer): an empty thread says so again.
    var empty = thread && document.getElementById("empty-" + keyOf(thread));
    if (empty && !$("li.message", thread)) empty.hidden = false;
    // A refusal (4xx) swaps the composer with its errors; without an answer, say it here.
    if (!ctx.response) sendingFailed(ctx.sourceElement);
  }

  function sendingFailed(form) {
    if (!form || !form.isConnected) return;
    var fieldset = $("fieldset", form);
    var alert = document.createElement("p");
    alert.id = form.id + "-sending-failed";
    alert.className = "form-alert";
    alert.setAttribute("role", "alert");
    alert.textContent = "Your message was not sent: the connection failed. Check it and send again.";
    var legend = fieldset && $("legend", fieldset);
    if (legend) legend.after(alert);
    else form.prepend(alert);
  }

  // Start -------------------------------------------------------------------------------------

  function start() {
    room = document.getElementById("room");
    if (!room || !room.dataset.room) return;
    titleBase = document.title;
    if ("IntersectionObserver" in window) onScreen = new IntersectionObserver(onIntersect, { threshold: 0.6 });
    $all("ol.thread[id^='thread-']").forEach(function (thread) {
      var key = keyOf(thread), ids = [];
      seen[key] = load(key);
      $all("li.message", thread).forEach(function (li) {
        var id = messageId(li);
        if (id === null) return;
        known[id] = shown(li) ? "visible" : "hidden";
        ids.push(id);
      });
      oldest[key] = ids.length ? Math.min.apply(null, ids) : 0;
      var newest = ids.length ? Math.max.apply(null, ids) : 0;
      if (seen[key] === null) {
        markSeen(key, newest);  // a first visit: what is here now is the starting point
        return;
      }
      $all("li.message", thread).forEach(function (li) {
        var id = messageId(li);
        if (id !== null && id > seen[key] && shown(li) && !isOwn(li)) markUnread(li);
      });
    });
    $all("ol.thread li.message").forEach(function (li) { if (shown(li)) watch(li); });
    new MutationObserver(onMutations).observe(room, { childList: true, subtree: true });
    document.addEventListener("visibilitychange", function () { readWhatIsInView(); updateTitle(); });
    document.addEventListener("htmx:before:request", onBeforeRequest);
    document.addEventListener("htmx:finally:request", onFinally);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
