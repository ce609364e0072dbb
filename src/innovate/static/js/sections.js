// The room's sections on narrow screens, and the "Skip to discussion" link.
//
// Narrower than a desktop (the CSS breakpoint below), a room shows one section at a time:
// Discussion (first, as in a chat app, with the message box in reach), Ideas, Brief, People,
// and Tools for moderators. The sections are the elements with data-pane; the links of
// nav.room-nav (data-pane-link) choose one, mark it with aria-current and put its address in
// the location bar. An address that points into a section (#message-12, #ideas-board) opens
// that section. #room[data-section] says which one is chosen; app.css hides the others only
// below the breakpoint, so a wider window shows them all, side by side as before. Without
// JavaScript, the links are plain links to the sections.
//
// "Skip to discussion" lands in the message box when the reader may post, else on the
// discussion itself.
(function () {
  "use strict";

  var NARROW = "(max-width: 959.98px)";  // app.css: where the room is one column
  var room = null;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function narrow() { return !!(window.matchMedia && window.matchMedia(NARROW).matches); }

  function paneNamed(name) { return $("[data-pane='" + name + "']", room); }

  // The section an address points into, or null.
  function paneOfHash(hash) {
    if (!hash || hash.length < 2) return null;
    var target = null;
    try { target = document.getElementById(decodeURIComponent(hash.slice(1))); } catch (e) { return null; }
    var pane = target && target.closest("[data-pane]");
    return pane && room.contains(pane) ? pane.dataset.pane : null;
  }

  function choose(name) {
    if (!paneNamed(name)) return;
    var was = room.dataset.section;
    room.dataset.section = name;
    // A hidden scroll box may lose its place: back in the discussion, the latest messages show
    // again unless the reader had scrolled up (room.js keeps that in data-was-near-bottom).
    var scroller = name === "discussion" && was && was !== name ? $("#discussion .thread-scroll") : null;
    if (scroller && scroller.dataset.wasNearBottom !== "false") scroller.scrollTop = scroller.scrollHeight;
    $all("[data-pane-link]", room).forEach(function (link) {
      if (link.dataset.paneLink === name) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
  }

  function onNavClick(event) {
    var link = event.target.closest && event.target.closest("a[data-pane-link]");
    if (!link || !room.contains(link)) return;
    event.preventDefault();
    choose(link.dataset.paneLink);
    history.replaceState(history.state, "", link.hash);
  }

  function onHashChange() {
    var name = paneOfHash(location.hash);
    if (name) choose(name);
  }

  // The message box if it can take text, else the discussion.
  function discussionFocus() {
    var discussion = document.getElementById("discussion");
    if (!discussion) return null;
    var area = $("form.composer textarea[name=body]", discussion);
    return area && !area.disabled ? area : discussion;
  }

  function onSkip(event) {
    var link = event.target.closest && event.target.closest("a[data-skip-to-discussion]");
    if (!link) return;
    var target = discussionFocus();
    if (!target) return;
    event.preventDefault();
    if (room) choose("discussion");
    target.focus();
    target.scrollIntoView({ block: target.tagName === "TEXTAREA" ? "center" : "start" });
  }

  // A phone opens on the discussion with its message box at the bottom of the screen (the
  // page scrolls so, when it is longer than the screen), like a chat app.
  function composerInReach() {
    var composer = $("#discussion form.composer");
    if (!composer) return;
    var bottom = composer.getBoundingClientRect().bottom;
    if (bottom > window.innerHeight) window.scrollBy(0, bottom - window.innerHeight + 8);
  }

  function start() {
    document.addEventListener("click", onSkip);
    room = document.getElementById("room");
    if (!room || !$("[data-pane-link]", room)) return;
    var fromAddress = paneOfHash(location.hash);
    choose(fromAddress || "discussion");
    document.addEventListener("click", onNavClick);
    window.addEventListener("hashchange", onHashChange);
    if (!fromAddress && narrow()) composerInReach();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
