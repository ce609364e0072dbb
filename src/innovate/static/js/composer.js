// The message boxes of a room (rooms/_composer.html, rooms/_message_edit.html): what a chat
// box does beyond a plain form. Everything here is an enhancement.
//
// - Drafts: what someone types in a composer is kept in this browser (localStorage), per
//   person, room and thread, until it is sent: a reload, a failed send or a closed tab does
//   not lose it. A draft written as a reply keeps whom it answers, until it is sent or the
//   reply is cancelled.
// - Keys: Enter sends and Shift+Enter adds a line where there is a keyboard (on a touch screen
//   Enter adds a line and the Send button sends, as phone keyboards have no Shift+Enter);
//   Ctrl+Enter or ⌘+Enter sends everywhere; Escape cancels a reply. A hint says so.
// - Focus: after sending, the cursor is back in the message box (htmx replaces the form, and
//   the fieldset is disabled while the message is on its way, which drops the focus).
// - Length: near a field's data-max-length a counter shows how much is left, and how much is
//   too much once over; the server refuses an over-long post with the reason, so nothing is
//   cut off.
// - @mentions (mentions.js) may claim Enter and Escape first while its list is open.
(function () {
  "use strict";

  var STORE = "innovate:draft:";
  var REPLY_STORE = "innovate:draft-reply:";  // beside the text: {"id", "name"} of the message answered
  var NEAR = 0.9;  // the counter shows from 90 % of the limit
  var room = null;
  var refocus = {};  // composer id -> true: the focus was in it when it was sent
  var keyboard = window.matchMedia ? !window.matchMedia("(hover: none) and (pointer: coarse)").matches : true;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function composerOf(el) {
    return el && el.closest ? el.closest("form.composer") : null;
  }

  function box(form) { return $("textarea[name=body]", form); }

  // Drafts ---------------------------------------------------------------------------------

  // Per person too: people who share a browser profile keep their own drafts.
  function draftKey(form) {
    return STORE + room.dataset.userId + ":" + room.dataset.room + ":" + form.id.replace(/^composer-/, "");
  }

  function saveDraft(form) {
    var text = box(form).value;
    try {
      if (text.trim()) localStorage.setItem(draftKey(form), text);
      else localStorage.removeItem(draftKey(form));
    } catch (e) { /* storage refused (private mode, policy): no drafts, nothing breaks */ }
  }

  function replyKey(form) {
    return REPLY_STORE + draftKey(form).slice(STORE.length);
  }

  // The reply the form holds now (room.js sets it when Reply is chosen, clears it on cancel).
  function saveReply(form) {
    var field = $("[data-reply-field]", form), name = $("[data-reply-name]", form);
    if (!field) return;
    try {
      if (field.value) localStorage.setItem(replyKey(form), JSON.stringify({ id: field.value, name: name ? name.textContent : "" }));
      else localStorage.removeItem(replyKey(form));
    } catch (e) { /* see saveDraft */ }
  }

  function dropDraft(form) {
    try {
      localStorage.removeItem(draftKey(form));
      localStorage.removeItem(replyKey(form));
    } catch (e) { /* see saveDraft */ }
  }

  // A draft fills an empty box; a box the server filled (a refused post) keeps its text, and
  // a form that names a reply already (the server's, after ?reply_to=) keeps that one.
  function restoreDraft(form) {
    var area = box(form);
    if (!area) return;
    var text = null, reply = null;
    try {
      text = localStorage.getItem(draftKey(form));
      reply = JSON.parse(localStorage.getItem(replyKey(form)) || "null");
    } catch (e) { /* storage refused, or not ours to read: no draft */ }
    if (text && !area.value) {
      area.value = text;
      count(area);
    }
    var field = $("[data-reply-field]", form), note = $("[data-replying]", form);
    if (reply && reply.id && field && note && !field.value) {
      field.value = String(reply.id);
      $("[data-reply-name]", note).textContent = String(reply.name || "");
      note.hidden = false;
    }
  }

  // Keys -----------------------------------------------------------------------------------

  function hint(form) {
    var line = $("[data-composer-hint]", form);
    if (!line) return;
    line.hidden = !keyboard;  // a touch screen's Enter adds a line: the Send button sends
  }

  function send(form) {
    var area = box(form);
    if (!area || !area.value.trim() || area.disabled) return;
    form.requestSubmit();
  }

  function onKeyDown(event) {
    if (event.defaultPrevented || event.isComposing) return;
    var target = event.target;
    if (target.tagName !== "TEXTAREA") return;
    var form = composerOf(target);
    if (!form) return;
    if (event.key === "Escape") {
      var note = $("[data-replying]", form), cancel = $("[data-cancel-reply]", form);
      if (note && !note.hidden && cancel) {
        event.preventDefault();
        cancel.click();  // room.js clears the reply and keeps the focus in the box
      }
      return;
    }
    if (event.key !== "Enter" || event.altKey) return;
    if (event.ctrlKey || event.metaKey || (keyboard && !event.shiftKey)) {
      event.preventDefault();
      send(form);
    }
  }

  // Focus after sending ----------------------------------------------------------------------

  function onSubmit(event) {
    var form = composerOf(event.target);
    if (form && form.contains(document.activeElement)) refocus[form.id] = true;
  }

  function focusBox(id) {
    var form = document.getElementById(id), area = form && box(form);
    if (area && !area.disabled && document.activeElement !== area) area.focus();
  }

  function sourceComposer(event) {
    var ctx = event.detail && event.detail.ctx;
    var source = ctx && ctx.sourceElement;
    return source && source.matches && source.matches("form.composer") ? source : null;
  }

  // Sent: the draft goes before htmx swaps in the empty composer (which would restore it).
  function onAfterRequest(event) {
    var form = sourceComposer(event), ctx = event.detail.ctx;
    if (form && ctx.response && ctx.response.status < 400) dropDraft(form);
  }

  function onFinally(event) {
    var form = sourceComposer(event);
    if (!form) return;
    var id = form.id;
    if (!refocus[id]) return;
    delete refocus[id];
    // htmx re-enables the fieldset just after this event; a refused post's invalid field has
    // the focus already (room.js).
    setTimeout(function () {
      var area = document.getElementById(id + "-body");
      if (area && area.getAttribute("aria-invalid") === "true" && document.activeElement === area) return;
      focusBox(id);
    }, 0);
  }

  // Length ---------------------------------------------------------------------------------

  function count(area) {
    var limit = parseInt(area.dataset.maxLength || "", 10);
    var counter = area.id && $("[data-length-of='" + area.id + "']");
    if (!limit || !counter) return;
    var length = area.value.trim().length, left = limit - length;
    var near = length >= limit * NEAR, over = left < 0;
    counter.hidden = !near;
    counter.classList.toggle("over", over);
    $("[data-count]", counter).textContent = over
      ? (-left).toLocaleString() + " characters too many (at most " + limit.toLocaleString() + ")"
      : left.toLocaleString() + " characters left";
    var alert = $("[data-count-alert]", counter);
    var state = over ? "over" : near ? "near" : "";
    if (counter.dataset.state !== state) {
      counter.dataset.state = state;
      alert.textContent = over ? "Too long: at most " + limit.toLocaleString() + " characters." : "";
    }
    var described = (area.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (near && described.indexOf(counter.id) < 0) described.push(counter.id);
    if (!near) described = described.filter(function (id) { return id !== counter.id; });
    if (described.length) area.setAttribute("aria-describedby", described.join(" "));
    else area.removeAttribute("aria-describedby");
  }

  function onInput(event) {
    var area = event.target;
    if (area.tagName !== "TEXTAREA") return;
    if (area.dataset.maxLength) count(area);
    var form = composerOf(area);
    if (form && area.name === "body") saveDraft(form);
  }

  // New composers: htmx swaps one in after each post, and gives it its own attributes only
  // once the swap has settled. Each step here may run again on the same form.

  function setUp() {
    $all("form.composer").forEach(function (form) {
      hint(form);
      restoreDraft(form);
    });
    $all("textarea[data-max-length]").forEach(count);
  }

  function start() {
    room = document.getElementById("room");
    if (!room || !room.dataset.room) return;
    setUp();
    document.addEventListener("htmx:after:settle", setUp);
    document.addEventListener("keydown", onKeyDown);
    document.addEventListener("input", onInput);
    document.addEventListener("innovate:reply-changed", function (event) {
      var form = composerOf(event.target);
      if (form) saveReply(form);
    });
    document.addEventListener("submit", onSubmit, true);
    document.addEventListener("htmx:after:request", onAfterRequest);
    document.addEventListener("htmx:finally:request", onFinally);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
