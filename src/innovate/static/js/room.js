// Room pages: what htmx does not do by itself. Everything here is an enhancement; the
// pages work without it (plain forms, server-rendered state).
//
// - forms follow the phase and the viewer's standing: #phase-banner carries the phase's
//   reasons (data-post-blocked, ...), #my-standing the membership and mute; live updates
//   replace those two elements and every fieldset[data-needs] follows, a mute ends on time;
// - additions that may already be on the page (own post + its live event, replays) are
//   de-duplicated by id, keeping the copy that was there first, and kept in id order;
// - countdowns, local times in new content, replies, the "new messages" button, focus on
//   the first invalid field of a refused form, and local times in the schedule form.
(function () {
  "use strict";

  var DEDUPE = /^(message|idea|member)-\d+$/;
  var muteTimer = null;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  // Forms follow the phase and the viewer's standing -------------------------------------

  function localTime(iso) {
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  function standingReason() {
    var standing = $("#my-standing");
    if (!standing) return null;
    if (standing.dataset.member !== "true") return "Join this challenge to take part.";
    var until = standing.dataset.mutedUntil;
    if (until && new Date(until) > new Date()) return "You are muted until " + localTime(until) + ".";
    return null;
  }

  function scheduleUnmute() {
    clearTimeout(muteTimer);
    var standing = $("#my-standing");
    var until = standing && standing.dataset.mutedUntil ? new Date(standing.dataset.mutedUntil) : null;
    if (until && until > new Date()) {
      // setTimeout cannot wait longer than ~24 days; re-check at most daily.
      var wait = Math.min(until - new Date() + 500, 86400000);
      muteTimer = setTimeout(function () { applyState(); }, wait);
    }
  }

  function applyState() {
    var banner = $("#phase-banner");
    if (!banner) return;
    var fromStanding = standingReason();
    $all("fieldset[data-needs]").forEach(function (fieldset) {
      var need = fieldset.dataset.needs;
      // An idea's thread may be locked by a moderator (its detail says so, live-updated).
      var lockedBy = fieldset.dataset.lockFrom && document.getElementById(fieldset.dataset.lockFrom);
      var locked = lockedBy ? lockedBy.dataset.threadLock || null : null;
      var reason = banner.getAttribute("data-" + need + "-blocked") || fromStanding || locked;
      fieldset.disabled = !!reason;
      var why = $("[data-why]", fieldset);
      if (why) {
        why.textContent = reason || "";
        why.hidden = !reason;
      }
    });
    $all(".badge.muted[data-until]").forEach(function (badge) {
      if (new Date(badge.dataset.until) <= new Date()) badge.remove();
    });
    scheduleUnmute();
  }

  // Countdowns ---------------------------------------------------------------------------

  function countdownText(ms) {
    if (ms <= 0) return "any moment now";
    var minutes = Math.floor(ms / 60000), days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60);
    if (days) return "in " + days + " d " + hours + " h";
    if (hours) return "in " + hours + " h " + (minutes % 60) + " min";
    if (minutes) return "in " + minutes + " min";
    return "in " + Math.ceil(ms / 1000) + " s";
  }

  function tickCountdowns() {
    $all("[data-countdown]").forEach(function (el) {
      el.textContent = countdownText(new Date(el.dataset.countdown) - new Date());
    });
  }

  // Threads: replies, scrolling, "new messages" --------------------------------------------

  function composerFor(threadKey) { return document.getElementById("composer-" + threadKey); }

  function setReply(form, id, name) {
    var field = $("[data-reply-field]", form), note = $("[data-replying]", form);
    if (!field || !note) return;
    field.value = id || "";
    $("[data-reply-name]", note).textContent = name || "";
    note.hidden = !id;
    // composer.js keeps the reply with the draft (or forgets it, once cancelled).
    form.dispatchEvent(new CustomEvent("innovate:reply-changed", { bubbles: true }));
  }

  function onClick(event) {
    var reply = event.target.closest("a.reply-link[data-reply-to]");
    if (reply) {
      var form = composerFor(reply.dataset.thread);
      if (!form || $("fieldset", form).disabled) return;  // let the link explain via the page
      event.preventDefault();
      setReply(form, reply.dataset.replyTo, reply.dataset.replyName);
      var textarea = $("textarea", form);
      if (textarea) textarea.focus();
      return;
    }
    var cancel = event.target.closest("[data-cancel-reply]");
    if (cancel) {
      event.preventDefault();
      var owner = cancel.closest("form");
      setReply(owner, "", "");
      var area = $("textarea", owner);
      if (area) area.focus();
      return;
    }
    var jump = event.target.closest("[data-jump-to-latest]");
    if (jump) {
      var scroller = $(".thread-scroll");
      if (scroller) scroller.scrollTop = scroller.scrollHeight;
      jump.hidden = true;
    }
  }

  function nearBottom(scroller) {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function newMessagesButton(scroller) {
    var button = $("[data-jump-to-latest]");
    if (!button) {
      button = document.createElement("button");
      button.type = "button";
      button.className = "jump-to-latest secondary small";
      button.setAttribute("data-jump-to-latest", "");
      button.textContent = "New messages ↓";
      scroller.parentNode.insertBefore(button, scroller.nextSibling);
    }
    return button;
  }

  function onThreadAddition(node) {
    var scroller = node.closest(".thread-scroll");
    if (!scroller || node.previousElementSibling === null) return;
    var isLast = !node.nextElementSibling;
    if (!isLast) return;  // older messages loaded above: leave the reader where they are
    if (scroller.dataset.wasNearBottom !== "false") {
      scroller.scrollTop = scroller.scrollHeight;
    } else if (!node.hidden) {
      newMessagesButton(scroller).hidden = false;
    }
  }

  function trackScroll(scroller) {
    var remember = function () {
      scroller.dataset.wasNearBottom = nearBottom(scroller) ? "true" : "false";
      if (nearBottom(scroller)) {
        var button = $("[data-jump-to-latest]");
        if (button) button.hidden = true;
      }
    };
    scroller.addEventListener("scroll", remember, { passive: true });
    scroller.scrollTop = scroller.scrollHeight;
    remember();
  }

  // New content ----------------------------------------------------------------------------

  function dedupe(node) {
    if (!node.id || !DEDUPE.test(node.id)) return false;
    var copies = document.querySelectorAll('[id="' + node.id + '"]');
    if (copies.length < 2) return false;
    for (var i = 1; i < copies.length; i++) copies[i].remove();
    return node !== copies[0];
  }

  function updateCounts() {
    var count = $("#members-count"), list = $("#members");
    if (count && list) count.textContent = String(list.children.length);
  }

  // "in reply to an earlier message" from a live fragment: name the author if the parent is here.
  function nameReplyRefs(root) {
    $all("a[data-reply-ref]", root).forEach(function (link) {
      var parent = document.getElementById("message-" + link.dataset.replyRef);
      var person = parent && $(".message-meta .person", parent);
      if (person && !link.dataset.named) {
        link.textContent = person.firstChild ? person.firstChild.textContent.trim() : person.textContent.trim();
        link.dataset.named = "true";
      }
    });
  }

  // A message appended at the end that is older than the one before it (a restored or
  // approved post, a late replay) moves up to its place: threads read in id order.
  function placeInOrder(node) {
    var id = messageNumber(node);
    if (id === null || node.nextElementSibling) return;
    var before = node.previousElementSibling, spot = null;
    while (before) {
      var other = messageNumber(before);
      if (other !== null && other < id) break;
      if (other !== null) spot = before;
      before = before.previousElementSibling;
    }
    if (spot) spot.parentNode.insertBefore(node, spot);
  }

  function messageNumber(el) {
    var match = /^message-(\d+)$/.exec(el.id || "");
    return match ? parseInt(match[1], 10) : null;
  }

  function onAdded(node) {
    if (node.nodeType !== 1) return;
    if (dedupe(node)) return;
    if (node.matches("ol.thread > li.message")) placeInOrder(node);
    if (node.matches("li.message")) nameReplyRefs(node);
    if (window.Innovate && window.Innovate.localTimes) window.Innovate.localTimes(node);
    if (node.matches("li.message")) onThreadAddition(node);
    if (node.matches("#phase-banner, #my-standing, [data-thread-lock]") ||
        node.querySelector("fieldset[data-needs], [data-countdown]") ||
        node.matches("fieldset[data-needs]")) {
      applyState();
      tickCountdowns();
    }
    if (node.matches("li.member")) updateCounts();
  }

  function observe() {
    new MutationObserver(function (records) {
      var removedMember = false;
      records.forEach(function (record) {
        Array.prototype.forEach.call(record.addedNodes, onAdded);
        Array.prototype.forEach.call(record.removedNodes, function (n) {
          if (n.nodeType === 1 && n.matches("li.member")) removedMember = true;
        });
      });
      if (removedMember) updateCounts();
    }).observe(document.body, { childList: true, subtree: true });
  }

  // htmx requests: busy buttons, focus on refused fields ---------------------------------------

  function onBeforeRequest(event) {
    var form = event.target.closest && event.target.closest("form");
    if (form) $all("button[type=submit]", form).forEach(function (b) { b.setAttribute("aria-busy", "true"); });
  }

  // On htmx:finally:request, which comes whatever happened: htmx:after:request does not come
  // when the request failed (offline), and a button left busy ignores clicks (Pico).
  function onFinallyRequest(event) {
    var form = event.target.closest && event.target.closest("form");
    if (form) $all("button[aria-busy]", form).forEach(function (b) { b.removeAttribute("aria-busy"); });
  }

  function onAfterSwap(event) {
    var ctx = event.detail && event.detail.ctx;
    var status = ctx && ctx.response ? ctx.response.status : 200;
    if (status < 400) return;
    var target = ctx.target && ctx.target.isConnected ? ctx.target : null;
    var id = target ? target.id : null;
    var root = (id && document.getElementById(id)) || document;
    var invalid = $("[aria-invalid=true]", root) || $(".form-alert, .field-error", root);
    if (invalid) {
      if (!invalid.matches("input, textarea, select")) invalid.setAttribute("tabindex", "-1");
      invalid.focus();
    }
  }

  // The room form: schedule times in the reader's time zone ---------------------------------

  function offsetString(date) {
    var minutes = -date.getTimezoneOffset(), sign = minutes >= 0 ? "+" : "-";
    minutes = Math.abs(minutes);
    return sign + String(Math.floor(minutes / 60)).padStart(2, "0") + ":" + String(minutes % 60).padStart(2, "0");
  }

  function localInputValue(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function roomForm(root) {
    var offsetField = $("[data-tz-offset]", root);
    if (!offsetField || offsetField.value) return;
    var offset = offsetString(new Date());
    offsetField.value = offset;
    $all("input[type=datetime-local][data-utc]", root).forEach(function (input) {
      if (input.dataset.utc) input.value = localInputValue(input.dataset.utc);
    });
    var label = $("[data-tz-label]", root);
    if (label) label.textContent = label.dataset.tzLabel.replace("{offset}", offset);
  }

  function start() {
    applyState();
    tickCountdowns();
    setInterval(tickCountdowns, 15000);
    $all(".thread-scroll").forEach(trackScroll);
    $all("form.room-form").forEach(roomForm);
    document.addEventListener("click", onClick);
    document.addEventListener("htmx:before:request", onBeforeRequest);
    document.addEventListener("htmx:finally:request", onFinallyRequest);
    document.addEventListener("htmx:after:swap", onAfterSwap);
    document.addEventListener("htmx:after:swap", function () { $all("form.room-form").forEach(roomForm); });
    observe();
  }

  // The live connection: htmx initialises the page from a timer as soon as its (deferred)
  // script has run, which can be before the hx-ws extension, loaded after it, registers.
  // Once every deferred script has run (DOMContentLoaded), process the connect element
  // again if the extension missed it (hxws-adapter.js tells).
  function connectLive() {
    var room = document.getElementById("room");
    if (!room || !window.htmx || !window.InnovateHxWs || !room.hasAttribute("hx-ws:connect")) return;
    if (!window.InnovateHxWs.initialized(room)) window.htmx.process(room);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("DOMContentLoaded", connectLive);
  window.addEventListener("load", connectLive);
})();
