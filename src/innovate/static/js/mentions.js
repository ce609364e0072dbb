// @mention suggestions in the message boxes, as an ARIA 1.2 combobox: the message box is the
// combobox (aria-expanded, aria-controls, aria-activedescendant), a listbox under it offers the
// members of this room whose handle or name starts with what follows "@" (the server answers
// with the room's members only: GET /api/v1/rooms/{slug}/mentions).
//
// Arrow keys move through the suggestions, Enter or Tab takes one (as "@handle "), Escape
// closes the list; a click or a tap takes one too. While the list is open, its keys come
// before the composer's (composer.js: Enter sends, Escape cancels a reply).
(function () {
  "use strict";

  var TYPED = /(^|[^\w@/])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})?$/;  // markdown.MENTION, being typed
  var WAIT_MS = 120;   // typing pauses this long before asking the server
  var LIMIT = 8;

  var room = null;
  var timer = null;
  var asked = 0;       // the latest request; older answers are dropped
  var state = null;    // the open list: {area, list, items, active, start, end}

  function $(selector, root) { return (root || document).querySelector(selector); }

  function listFor(area) {
    var id = area.id + "-mentions", list = document.getElementById(id);
    if (!list) {
      list = document.createElement("ul");
      list.id = id;
      list.className = "mention-list";
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", area.dataset.mentionLabel);
      list.hidden = true;
      area.after(list);
    }
    return list;
  }

  function setUp(area) {
    if (area.getAttribute("role") === "combobox") return;
    area.setAttribute("role", "combobox");
    area.setAttribute("aria-autocomplete", "list");
    area.setAttribute("aria-expanded", "false");
    area.setAttribute("aria-controls", listFor(area).id);
  }

  function close() {
    if (!state) return;
    state.list.hidden = true;
    state.list.replaceChildren();
    state.area.setAttribute("aria-expanded", "false");
    state.area.removeAttribute("aria-activedescendant");
    state = null;
  }

  function activate(index) {
    if (!state) return;
    state.active = (index + state.items.length) % state.items.length;
    Array.prototype.forEach.call(state.list.children, function (option, n) {
      option.setAttribute("aria-selected", n === state.active ? "true" : "false");
    });
    var chosen = state.list.children[state.active];
    state.area.setAttribute("aria-activedescendant", chosen.id);
    chosen.scrollIntoView({ block: "nearest" });
  }

  function take(index) {
    if (!state) return;
    var item = state.items[index], area = state.area;
    var typed = typedAt(area) || state;  // what was typed since the list opened goes too
    var text = area.value, insert = "@" + item.handle + " ";
    area.value = text.slice(0, typed.start) + insert + text.slice(typed.end);
    var caret = typed.start + insert.length;
    area.setSelectionRange(caret, caret);
    close();
    area.focus();
    area.dispatchEvent(new Event("input", { bubbles: true }));  // drafts, the counter
  }

  function show(area, items, start, end) {
    if (!items.length || document.activeElement !== area) {
      close();
      return;
    }
    var list = listFor(area);
    list.replaceChildren();
    items.forEach(function (item, n) {
      var option = document.createElement("li");
      option.id = list.id + "-" + item.user_id;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      var name = document.createElement("span");
      name.className = "mention-name";
      name.textContent = item.name;
      var handle = document.createElement("span");
      handle.className = "mention-handle";
      handle.textContent = "@" + item.handle;
      option.append(name, " ", handle);
      if (item.kind === "guest") {
        var badge = document.createElement("span");
        badge.className = "badge guest";
        badge.textContent = "guest";
        option.append(" ", badge);
      }
      // Pressing the pointer would take the focus from the message box first.
      option.addEventListener("mousedown", function (event) { event.preventDefault(); });
      option.addEventListener("click", function () { take(n); });
      list.append(option);
    });
    list.hidden = false;
    area.setAttribute("aria-expanded", "true");
    state = { area: area, list: list, items: items, active: -1, start: start, end: end };
    activate(0);
  }

  function typedAt(area) {
    if (area.selectionStart !== area.selectionEnd) return null;
    var before = area.value.slice(0, area.selectionStart);
    var match = TYPED.exec(before);
    if (!match) return null;
    return { prefix: (match[2] || "").toLowerCase(), start: before.length - (match[2] || "").length - 1, end: before.length };
  }

  function ask(area) {
    var typed = typedAt(area);
    clearTimeout(timer);
    if (!typed) {
      close();
      return;
    }
    var mine = ++asked;
    timer = setTimeout(function () {
      var url = "/api/v1/rooms/" + encodeURIComponent(room.dataset.room) + "/mentions?limit=" + LIMIT +
                "&q=" + encodeURIComponent(typed.prefix);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { items: [] }; })
        .then(function (answer) {
          if (mine !== asked) return;
          var now = typedAt(area);
          if (!now || now.start !== typed.start) return close();
          show(area, answer.items || [], now.start, now.end);
        })
        .catch(function () { if (mine === asked) close(); });
    }, WAIT_MS);
  }

  function mentionBox(el) {
    return el && el.tagName === "TEXTAREA" && el.closest("form.composer") ? el : null;
  }

  function onInput(event) {
    var area = mentionBox(event.target);
    if (!area) return;
    setUp(area);
    ask(area);
  }

  // Before composer.js (this listener captures), so Enter and Escape act on the list first.
  function onKeyDown(event) {
    if (!state || event.target !== state.area || event.isComposing) return;
    var key = event.key;
    if (key === "ArrowDown" || key === "ArrowUp") {
      event.preventDefault();
      activate(state.active + (key === "ArrowDown" ? 1 : -1));
    } else if ((key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.metaKey) || key === "Tab") {
      event.preventDefault();
      event.stopPropagation();
      take(state.active);
    } else if (key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  }

  function onFocusOut(event) {
    if (state && event.target === state.area) close();
  }

  function start() {
    room = document.getElementById("room");
    if (!room || !room.dataset.room) return;
    var setUpAll = function () {
      Array.prototype.forEach.call(document.querySelectorAll("form.composer textarea[name=body]"), setUp);
    };
    setUpAll();
    // htmx replaces a composer after each post, and gives the new one its own attributes only
    // once the swap has settled: it is set up then.
    document.addEventListener("htmx:after:settle", setUpAll);
    document.addEventListener("input", onInput);
    document.addEventListener("keydown", onKeyDown, true);
    document.addEventListener("focusout", onFocusOut);
    // A caret moved away from the "@handle" closes the list.
    document.addEventListener("selectionchange", function () {
      if (state && document.activeElement === state.area) {
        var typed = typedAt(state.area);
        if (!typed || typed.start !== state.start) close();
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
