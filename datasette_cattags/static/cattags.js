/* datasette-cattags: the gallery as a photo tool. Plain JavaScript, no build
   step; every page works without it (the forms post as they are). Adds:
   selection (click, Shift-click for a range, Space, arrows, Esc, none),
   "Select all" that match the page's filters across pages (bounded),
   "Select similar" (look-alikes of the last picture clicked), a look-alike
   group's pictures selected from the panel, drag and drop onto folders,
   keys 1-9 for the folders last moved into, a "Move to..." sheet on
   phones, moves and undo without a reload, a toast with Undo, zoom
   remembered in the browser, the facets in a collapsible panel, and
   Left/Right for the previous and next picture on a picture page. */
(function () {
  "use strict";

  var ZOOM_KEY = "cattags-zoom";
  var KEYS_KEY = "cattags-keys:";  // + the table's URL: the folders keys 1-9 move to
  var FOLDER_KEYS = 9;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function typing(event) {
    var target = event.target;
    return target && (target.tagName === "INPUT" && target.type === "text" || target.tagName === "TEXTAREA" || target.isContentEditable);
  }

  /* ---- talking to the server ---------------------------------------- */

  function post(url, form, fields) {
    var body = new URLSearchParams();
    body.append("csrftoken", (form.querySelector("input[name=csrftoken]") || {}).value || "");
    fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (response) {
      return response.json().catch(function () {
        return { ok: false, message: "The server answered " + response.status };
      });
    }, function () {
      return { ok: false, message: "The server could not be reached" };
    });
  }

  function toaster(form) {
    var box = $(".cattags-toast", form);
    var timer = null;
    return function (message, isError, undo) {
      if (!box) return;
      box.textContent = "";
      box.classList.toggle("cattags-error", !!isError);
      box.appendChild(el("span", {}, message));
      if (undo) {
        var button = el("button", { type: "button" }, "Undo");
        button.addEventListener("click", function () { box.hidden = true; undo(); });
        box.appendChild(button);
      }
      box.hidden = false;
      clearTimeout(timer);
      timer = setTimeout(function () { box.hidden = true; }, isError ? 8000 : 6000);
    };
  }

  /* ---- the folder panel --------------------------------------------- */

  function renderTree(list, counts, tableUrl) {
    var direct = {};
    var paths = {};
    counts.forEach(function (pair) {
      direct[pair[0]] = pair[1];
      if (!pair[0]) return;
      var parts = pair[0].split("/");
      for (var n = 1; n <= parts.length; n++) paths[parts.slice(0, n).join("/")] = true;
    });
    var extra = {};  // folders added on this page that nothing has moved into yet
    $$("li[data-extra]", list).forEach(function (li) {
      extra[li.getAttribute("data-extra")] = true;
      paths[li.getAttribute("data-extra")] = true;
    });
    list.textContent = "";
    list.appendChild(folderItem("", "Top level", 0, direct[""] || 0, tableUrl));
    Object.keys(paths).sort(function (a, b) {
      var x = a.split("/"), y = b.split("/");
      for (var i = 0; i < Math.min(x.length, y.length); i++) {
        if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
      }
      return x.length - y.length;
    }).forEach(function (path) {
      var item = folderItem(path, path.split("/").pop(), path.split("/").length, direct[path] || 0, tableUrl);
      if (extra[path] && !direct[path]) item.setAttribute("data-extra", path);
      list.appendChild(item);
    });
  }

  function folderItem(path, name, depth, count, tableUrl) {
    var item = el("li", { style: "--depth: " + depth });
    var link = el("a", { "class": "cattags-folder", "data-folder": path, href: tableUrl + "?folder=" + encodeURIComponent(path) }, name);
    item.appendChild(link);
    if (count) {
      item.appendChild(document.createTextNode(" "));
      item.appendChild(el("span", { "class": "cattags-count" }, String(count)));
    }
    return item;
  }

  /* ---- folder keys: 1-9 for the folders last moved into ----------------
     Kept in this browser. A folder keeps its number while it stays among
     the nine last used; a new one takes the number of the one used longest
     ago. */

  function folderKeys(tableUrl) {
    var name = KEYS_KEY + tableUrl;
    function read() {
      try {
        var stored = JSON.parse(window.localStorage.getItem(name) || "[]");
        return Array.isArray(stored) ? stored.filter(function (k) { return k && typeof k.folder === "string"; }) : [];
      } catch (error) { return []; }  // storage refused or spoilt: no keys yet
    }
    return {
      list: function () { return read().map(function (k) { return k.folder; }); },
      used: function (folder) {
        var keys = read();
        var now = Date.now();
        var known = keys.filter(function (k) { return k.folder === folder; })[0];
        if (known) known.at = now;
        else if (keys.length < FOLDER_KEYS) keys.push({ folder: folder, at: now });
        else {
          var oldest = keys.reduce(function (a, b) { return a.at <= b.at ? a : b; });
          oldest.folder = folder;
          oldest.at = now;
        }
        try { window.localStorage.setItem(name, JSON.stringify(keys)); } catch (error) { /* not remembered */ }
      }
    };
  }

  function showKeys(tree, keys) {
    $$(".cattags-key", tree).forEach(function (badge) { badge.remove(); });
    keys.forEach(function (folder, index) {
      var link = $$(".cattags-folder", tree).filter(function (a) { return a.getAttribute("data-folder") === folder; })[0];
      if (!link) return;
      var badge = el("kbd", { "class": "cattags-key", title: "Press " + (index + 1) + " to move the selection here" }, String(index + 1));
      link.parentNode.insertBefore(badge, link);
    });
  }

  /* ---- pictures that match the page's filters, from the JSON API -------- */

  // The ids of the pictures the table page at `search` (its query string)
  // lists, every page of them, at most `most` + 1: one more tells "too many".
  function matchingIds(tableUrl, search, most) {
    var query = new URLSearchParams(search);
    ["_next", "_sort", "_sort_desc", "_size", "_col", "_nocol", "_shape", "_cattags"].forEach(function (key) { query.delete(key); });
    Array.from(query.keys()).forEach(function (key) { if (key.indexOf("_facet") === 0) query.delete(key); });  // every facet
    query.set("_col", "id");
    query.set("_size", "max");
    query.set("_shape", "objects");
    query.set("_nofacet", "1");
    query.set("_nocount", "1");
    var ids = [];
    function page(url) {
      return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (response) {
        if (!response.ok) throw new Error("The server answered " + response.status);
        return response.json();
      }).then(function (data) {
        (data.rows || []).forEach(function (row) { ids.push(String(row.id)); });
        var next = data.next_url || (data.next ? url.replace(/([?&])_next=[^&]*/, "$1").replace(/[?&]$/, "") + "&_next=" + encodeURIComponent(data.next) : null);
        if (next && ids.length <= most) return page(next);
        return ids;
      });
    }
    return page(tableUrl + ".json?" + query.toString());
  }

  /* ---- the gallery -------------------------------------------------- */

  function gallery(form) {
    var grid = $(".cattags-grid", form);
    var toast = toaster(form);
    var tree = $(".cattags-tree", form);
    var side = $(".cattags-side", form);
    var moveUrl = form.getAttribute("action");
    var undoUrl = form.getAttribute("data-undo-url");
    document.documentElement.classList.add("cattags-js-on");
    $$(".cattags-js", form).forEach(function (node) { node.hidden = false; });

    // The facets join the panel, collapsible (closed on a phone).
    var facets = $(".facet-results");
    if (facets && side) {
      ["nearest_distance", "cluster", "event", "look", "folder", "tags"].forEach(function (name) {  // classifying ones first
        var facet = facets.querySelector(".facet-info[data-column='" + name + "']");
        if (facet) facets.insertBefore(facet, facets.firstChild);
      });
      // A button, not <details>: Datasette 0.65 closes every open <details>
      // on any click elsewhere on the page.
      var panel = el("div", { "class": "cattags-facets" });
      var toggle = el("button", { type: "button", "class": "cattags-facets-toggle", "aria-controls": "cattags-facet-list" }, "Filters");
      facets.id = "cattags-facet-list";
      var open = !window.matchMedia("(max-width: 799px)").matches;
      function show(state) { toggle.setAttribute("aria-expanded", state ? "true" : "false"); facets.hidden = !state; }
      toggle.addEventListener("click", function () { show(facets.hidden); });
      panel.appendChild(toggle);
      panel.appendChild(facets);
      side.appendChild(panel);
      show(open);
    }

    // Zoom, remembered in this browser.
    function setZoom(value) {
      form.style.setProperty("--zoom", value);
      $$(".cattags-zoom button", form).forEach(function (button) {
        button.setAttribute("aria-pressed", button.getAttribute("data-zoom") === String(value) ? "true" : "false");
      });
    }
    try {
      var stored = window.localStorage.getItem(ZOOM_KEY);
      if (stored && $(".cattags-zoom button[data-zoom='" + stored + "']", form)) setZoom(stored);
    } catch (error) { /* storage refused (private mode): the default zoom stays */ }
    $$(".cattags-zoom button", form).forEach(function (button) {
      button.addEventListener("click", function () {
        var value = button.getAttribute("data-zoom");
        setZoom(value);
        try { window.localStorage.setItem(ZOOM_KEY, value); } catch (error) { /* not remembered */ }
      });
    });

    var counter = $(".cattags-selected", form);
    if (!counter) return;  // nobody may move pictures here: the grid is links
    var checks = $$(".cattags-check", grid);
    var folderField = $("input[name=folder]", form);
    var datalist = $("#cattags-folders", form);
    var tableUrl = tree.getAttribute("data-table-url");
    var keys = folderKeys(tableUrl);
    var anchor = null;  // the last picture clicked, for Shift-click ranges
    var extra = {};  // ids selected that this page does not show (Select all, Select similar)
    var onPage = {};
    checks.forEach(function (box) { onPage[box.value] = box; });

    function selectedIds() {
      var ids = checks.filter(function (box) { return box.checked; }).map(function (box) { return box.value; });
      return ids.concat(Object.keys(extra));
    }
    function update() {
      var count = selectedIds().length;
      counter.textContent = count ? count.toLocaleString() + " selected" : "Tick pictures, then move them";
      grid.classList.toggle("cattags-selecting", count > 0);
    }
    function addToSelection(ids) {
      ids.forEach(function (id) {
        if (onPage[id]) onPage[id].checked = true;
        else extra[id] = true;
      });
      update();
    }
    function clear() { checks.forEach(function (box) { box.checked = false; }); extra = {}; update(); }

    // Shift-click: the range between the last picture clicked and this one.
    grid.addEventListener("click", function (event) {
      var label = event.target.closest(".cattags-frame");
      if (!label) return;
      var box = document.getElementById(label.getAttribute("for"));
      var index = checks.indexOf(box);
      if (event.shiftKey && anchor !== null && anchor !== index) {
        event.preventDefault();
        var low = Math.min(anchor, index), high = Math.max(anchor, index);
        for (var n = low; n <= high; n++) checks[n].checked = true;
        focusOn(index);
        update();
      } else {
        anchor = index;
      }
    });
    checks.forEach(function (box, index) {
      box.addEventListener("change", function () { anchor = index; update(); });
    });
    var none = $(".cattags-none", form);
    if (none) none.addEventListener("click", clear);

    // Every picture that matches the page's filters, across its pages: bounded.
    var matchButton = $("[data-cattags-action=select-matching]", form);
    var most = 0;  // the most pictures one selection takes, read at each use
    function tooMany(count) {
      return (count ? count.toLocaleString() : "More than " + most.toLocaleString()) +
        " pictures match: at most " + most.toLocaleString() + " can be selected at once. Narrow the filter first (a folder, a tag, a look-alike group).";
    }
    function selectMatching(search, done) {
      most = Number(matchButton.getAttribute("data-most"));
      return matchingIds(tableUrl, search, most).then(function (ids) {
        if (ids.length > most) { toast(tooMany(0), true); return; }
        addToSelection(ids);
        toast(done(ids.length), false);
      }, function (error) {
        toast("The pictures could not be listed: " + error.message, true);
      });
    }
    matchButton.addEventListener("click", function () {
      var count = Number(matchButton.getAttribute("data-count") || 0);
      most = Number(matchButton.getAttribute("data-most"));
      if (matchButton.getAttribute("data-over") || count > most) { toast(tooMany(count > most ? count : 0), true); return; }
      selectMatching(location.search, function (n) { return "Selected all " + n.toLocaleString() + " that match"; });
    });
    $$(".cattags-pick-group", form).forEach(function (button) {
      button.addEventListener("click", function () {
        var query = new URLSearchParams(location.search);
        query.set("look", button.getAttribute("data-look"));
        selectMatching("?" + query.toString(), function (n) {
          return "Selected " + n.toLocaleString() + " of look-alike group " + button.getAttribute("data-look");
        });
      });
    });

    // The look-alikes of the last picture clicked, as many as chosen.
    var similar = $("[data-cattags-action=select-similar]", form), howMany = $(".cattags-similar-k", form);
    similar.addEventListener("click", function () {
      var seed = anchor !== null ? checks[anchor] : null;
      if (!seed) { toast("Click a picture first, then Select similar", true); return; }
      var query = new URLSearchParams(location.search);
      query.set("_alike", seed.value);
      query.set("_alike_k", howMany.value);
      selectMatching("?" + query.toString(), function (n) {
        return "Selected " + n + " that look alike (of the " + howMany.value + " most alike, those this page's filters let through)";
      });
    });

    // 1-9: move the selection to the folder of that number.
    function numberKeys() { showKeys(tree, keys.list()); }
    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key === "Escape") {
        if (sheet && !sheet.hidden) closeSheet();
        else clear();
        return;
      }
      if (!/^[1-9]$/.test(event.key) || (event.target && event.target.tagName === "SELECT")) return;
      var folder = keys.list()[Number(event.key) - 1];
      event.preventDefault();
      if (folder === undefined) { toast("No folder has the number " + event.key + " yet: move pictures into a folder first", true); return; }
      move(selectedIds(), folder);
    });

    // One Tab stop for the grid; arrows move between pictures, Space ticks.
    var current = 0;
    function focusOn(index) {
      checks[current].tabIndex = -1;
      current = Math.max(0, Math.min(checks.length - 1, index));
      checks[current].tabIndex = 0;
      checks[current].focus();
    }
    checks.forEach(function (box, index) {
      box.tabIndex = index === 0 ? 0 : -1;
      box.addEventListener("focus", function () { checks[current].tabIndex = -1; current = index; box.tabIndex = 0; });
    });
    function perRow() {
      var top = checks[0].closest(".cattags-cell").offsetTop;
      var n = 0;
      while (n < checks.length && checks[n].closest(".cattags-cell").offsetTop === top) n++;
      return Math.max(1, n);
    }
    // The grid is one Tab stop: its "open" links leave the Tab order, and
    // Enter on a picture opens it instead.
    $$(".cattags-open", grid).forEach(function (link) { link.tabIndex = -1; });
    grid.addEventListener("keydown", function (event) {
      if (!event.target.classList.contains("cattags-check")) return;
      if (event.key === "Enter") {
        event.preventDefault();
        var open = $(".cattags-open", event.target.closest(".cattags-cell"));
        if (open) location.href = open.href;
        return;
      }
      var step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow(), ArrowUp: -perRow() }[event.key];
      if (event.key === "Home") step = -current;
      if (event.key === "End") step = checks.length - 1 - current;
      if (step === undefined) return;
      event.preventDefault();
      var target = current + step;
      if (event.shiftKey) {
        var low = Math.min(current, target), high = Math.max(current, target);
        for (var n = Math.max(0, low); n <= Math.min(checks.length - 1, high); n++) checks[n].checked = true;
        update();
      }
      focusOn(target);
    });

    // After a move or an undo: the pictures, the tree and the field follow.
    function apply(answer) {
      var query = new URLSearchParams(location.search);
      var shown = query.has("folder") ? query.get("folder") : null;  // a folder filter
      (answer.moved || []).forEach(function (id) {
        var cell = grid.querySelector(".cattags-cell[data-id='" + id + "']");
        if (!cell) return;
        var folder = (answer.to || {})[id] || "";
        cell.setAttribute("data-folder", folder);
        var box = $(".cattags-check", cell);
        if (box) box.checked = false;
        cell.classList.toggle("cattags-moved", shown !== null && shown !== folder);
        var caption = $(".cattags-caption", cell);
        var size = (($(".cattags-frame", cell) || {}).title || "").split(" · ")[1];
        var hidden = {};
        hidden[size] = true;
        folder.split("/").forEach(function (part) { hidden[part] = true; });
        caption.textContent = "";
        if (folder) caption.appendChild(el("span", { "class": "cattags-chip cattags-chip-folder", title: "in " + folder }, folder.split("/").pop()));
        ((answer.tags || {})[id] || []).forEach(function (tag) {
          if (!hidden[tag]) caption.appendChild(el("span", { "class": "cattags-chip" }, tag));
        });
      });
      if (answer.folders && tree) renderTree(tree, answer.folders, tree.getAttribute("data-table-url"));
      extra = {};
      numberKeys();
      if (datalist && answer.folders) {
        datalist.textContent = "";
        answer.folders.forEach(function (pair) { if (pair[0]) datalist.appendChild(el("option", { value: pair[0] })); });
      }
      update();
    }

    function move(ids, folder) {
      if (!ids.length) { toast("Select pictures first (click them, Shift-click for a range)", true); return; }
      var fields = ids.map(function (id) { return ["image_id", id]; });
      fields.push(["folder", folder]);
      post(moveUrl, form, fields).then(function (answer) {
        if (!answer.ok) { toast(answer.message, true); return; }
        if (answer.moved && answer.moved.length) {
          keys.used(answer.folder);
          folderField.value = "";  // Enter again must not send the next selection there too
        }
        apply(answer);
        toast(answer.message, false, answer.moved && answer.moved.length ? undo : null);
      });
    }
    function undo() {
      post(undoUrl, form, []).then(function (answer) {
        if (!answer.ok) { toast(answer.message, true); return; }
        apply(answer);
        toast(answer.message, false);
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submitter = event.submitter;
      if (submitter && submitter.classList.contains("cattags-undo")) { undo(); return; }
      move(selectedIds(), folderField.value);
    });

    // Drag one picture, or the selection it belongs to, onto a folder.
    var dragged = [];
    $$(".cattags-frame", grid).forEach(function (frame) { frame.setAttribute("draggable", "true"); });
    grid.addEventListener("dragstart", function (event) {
      var cell = event.target.closest && event.target.closest(".cattags-cell");
      if (!cell) return;
      var box = $(".cattags-check", cell);
      dragged = box.checked ? selectedIds() : [box.value];
      dragged.forEach(function (id) {
        var each = grid.querySelector(".cattags-cell[data-id='" + id + "']");
        if (each) each.classList.add("cattags-dragging");
      });
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.join("\n"));
    });
    grid.addEventListener("dragend", function () {
      $$(".cattags-dragging", grid).forEach(function (cell) { cell.classList.remove("cattags-dragging"); });
    });
    function folderOf(event) { return event.target.closest && event.target.closest(".cattags-folder"); }
    if (tree) {
      tree.addEventListener("dragover", function (event) {
        var target = folderOf(event);
        if (!target || !dragged.length) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        $$(".cattags-drop", tree).forEach(function (node) { if (node !== target) node.classList.remove("cattags-drop"); });
        target.classList.add("cattags-drop");
      });
      tree.addEventListener("dragleave", function (event) {
        var target = folderOf(event);
        if (target) target.classList.remove("cattags-drop");
      });
      tree.addEventListener("drop", function (event) {
        var target = folderOf(event);
        if (!target) return;
        event.preventDefault();
        target.classList.remove("cattags-drop");
        var ids = dragged;
        dragged = [];
        move(ids, target.getAttribute("data-folder"));
      });
    }

    // A new folder to drop onto (it exists once something moves into it).
    var add = $(".cattags-add", form), name = $("#cattags-new", form);
    function addFolder() {
      var path = name.value.trim().replace(/^\/+|\/+$/g, "");
      if (!path) return;
      var existing = $$(".cattags-folder", tree).some(function (node) { return node.getAttribute("data-folder") === path; });
      if (!existing) {
        var item = folderItem(path, path.split("/").pop(), path.split("/").length, 0, tree.getAttribute("data-table-url"));
        item.setAttribute("data-extra", path);
        tree.appendChild(item);
      }
      name.value = "";
      toast("Folder " + path + " added: drag pictures onto it", false);
    }
    if (add && name) {
      add.addEventListener("click", addFolder);
      name.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); addFolder(); }
      });
    }
    // Phones: "Move to..." opens a sheet of folders, numbered ones first.
    var sheet = $(".cattags-sheet", form), sheetOpen = $(".cattags-sheet-open", form);
    function closeSheet() { sheet.hidden = true; if (sheetOpen) sheetOpen.focus(); }
    function openSheet() {
      if (!selectedIds().length) { toast("Select pictures first (tap them)", true); return; }
      var list = $(".cattags-sheet-folders", sheet);
      var numbered = keys.list();
      var others = $$(".cattags-folder", tree).map(function (a) { return a.getAttribute("data-folder"); })
        .filter(function (folder) { return numbered.indexOf(folder) < 0; });
      list.textContent = "";
      numbered.concat(others).forEach(function (folder, index) {
        var button = el("button", { type: "button", "class": "cattags-sheet-folder", "data-folder": folder });
        if (index < numbered.length) button.appendChild(el("kbd", { "class": "cattags-key" }, String(index + 1)));
        button.appendChild(document.createTextNode(folder || "Top level"));
        var item = el("li");
        item.appendChild(button);
        list.appendChild(item);
      });
      sheet.hidden = false;
      var first = $(".cattags-sheet-folder", sheet);
      if (first) first.focus();
    }
    if (sheet && sheetOpen) {
      sheetOpen.addEventListener("click", openSheet);
      $(".cattags-sheet-close", sheet).addEventListener("click", closeSheet);
      sheet.addEventListener("click", function (event) {
        var target = event.target.closest(".cattags-sheet-folder");
        if (!target) return;
        closeSheet();
        move(selectedIds(), target.getAttribute("data-folder"));
      });
      var fresh = $(".cattags-sheet-new input", sheet);
      function moveToNew() {
        if (!fresh.value.trim()) { fresh.focus(); return; }
        closeSheet();
        move(selectedIds(), fresh.value);
        fresh.value = "";
      }
      $(".cattags-sheet-new button", sheet).addEventListener("click", moveToNew);
      fresh.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); moveToNew(); }
      });
    }
    numberKeys();
    update();
  }

  /* ---- one picture -------------------------------------------------- */

  function picture(page) {
    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.altKey || event.ctrlKey || event.metaKey) return;
      var link = event.key === "ArrowLeft" ? $(".cattags-prev", page) : event.key === "ArrowRight" ? $(".cattags-next", page) : null;
      if (link) location.href = link.href;
    });
    var form = $(".cattags-move-one", page);
    if (!form) return;
    var toast = toaster(form);
    var id = $("input[name=image_id]", form).value;
    function show(answer) {
      if (!answer.ok) { toast(answer.message, true); return false; }
      if ((answer.moved || []).indexOf(id) >= 0) {
        $(".cattags-here", page).textContent = answer.to[id] || "(top level)";
        var list = $(".cattags-tag-list", page);
        var now = answer.tags[id] || [];
        var earlier = $(".cattags-earlier", page);
        var chips = $$(".cattags-chip", list);
        var known = chips.map(function (chip) { return chip.textContent; });
        // A folder left: its tags are listed as earlier ones; a folder back: current again.
        $$(".cattags-chip", earlier).forEach(function (chip) { if (now.indexOf(chip.textContent) >= 0) chip.remove(); });
        chips.forEach(function (chip) {
          if (now.indexOf(chip.textContent) >= 0) return;
          chip.remove();
          if (chip.classList.contains("cattags-origin-folder")) earlier.appendChild(el("span", { "class": "cattags-chip cattags-origin-earlier" }, chip.textContent));
        });
        now.forEach(function (tag) {
          if (known.indexOf(tag) < 0) list.appendChild(el("span", { "class": "cattags-chip cattags-origin-folder", title: "from folder" }, tag));
        });
        var any = !!$(".cattags-chip", earlier);
        earlier.hidden = !any;
        earlier.previousElementSibling.hidden = !any;
      }
      return true;
    }
    function undo() { post(form.getAttribute("data-undo-url"), form, []).then(function (answer) { if (show(answer)) toast(answer.message, false); }); }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (event.submitter && event.submitter.classList.contains("cattags-undo")) { undo(); return; }
      post(form.getAttribute("action"), form, [["image_id", id], ["folder", $("input[name=folder]", form).value]]).then(function (answer) {
        if (show(answer)) toast(answer.message, false, answer.moved.length ? undo : null);
      });
    });
  }

  function start() {
    var page = $(".cattags-picture");
    if (page) { picture(page); return; }
    var form = $("form.cattags-gallery");
    if (form) gallery(form);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
