// Innovate page behaviour that htmx does not cover: local times, and Copy buttons.
(function () {
  "use strict";
  // In the page's language (<html lang>), as the server wrote it, and the reader's time zone.
  var lang = document.documentElement.lang || undefined;
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) { return; }
      try {
        el.textContent = d.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
      } catch (e) {
        el.textContent = d.toLocaleString();
      }
      el.title = el.getAttribute("datetime");
    });
  }

  // <button data-copy="ID" hidden> copies the text of #ID; the nearest [data-copy-status] says how
  // it went. The button stays hidden without JavaScript (the text can still be selected).
  function showCopyButtons(root) {
    root.querySelectorAll("button[data-copy][hidden]").forEach(function (button) { button.hidden = false; });
  }
  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  // Without the clipboard API (an insecure origin, an old browser): the selection and execCommand.
  function copyBySelection(el) {
    selectText(el);
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }
  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentElement.querySelector("[data-copy-status]");
    if (!source) { return; }
    var text = source.textContent.trim();
    function say(words) { if (status) { status.textContent = ""; status.textContent = words; } }
    function fallback() {
      say(copyBySelection(source) ? "Link copied." : "Press Ctrl+C (⌘+C on a Mac) to copy the selected link.");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { say("Link copied."); }, fallback);
    } else {
      fallback();
    }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (button) { copy(button); }
  });
  document.addEventListener("htmx:after:swap", function () { showCopyButtons(document); });
  document.addEventListener("DOMContentLoaded", function () { localTimes(document); showCopyButtons(document); });
  window.Innovate = { localTimes: localTimes };
})();
