/* datasette-cattags: the gallery as a photo tool. Plain JavaScript, no build
   step; every page works without it (the forms post as they are). Adds:
   selection (click, Shift-click for a range, Space, arrows, Esc, all/none),
   drag and drop onto folders, moves and undo without a reload, a toast with
   Undo, zoom remembered in the browser, the facets in a collapsible panel,
   and Left/Right for the previous and next picture on a picture page. */
(function () {
  "use strict";

  var ZOOM_KEY = "cattags-zoom";

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
      ["nearest_distance", "cluster", "folder", "tags"].forEach(function (name) {  // classifying ones first
        var facet = facets.querySelector(".facet-info[data-column='" + name + "']");
        if (facet) facets.insertBefore(facet, facets.firstChild);
      });
      // A button, not <details>: Datasette 0.65 closes every open <details>
      // on any click elsewhere on the page.
      var panel = el("div", { "class": "cattags-facets" });
      var toggle = el("button", { type: "button", "class": "cattags-facets-toggle", "aria-controls": "cattags-facet-list" }, "Filter by tags, folder, group");
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

    var checks = $$(".cattags-check", grid);
    if (!checks.length) return;  // nobody may move pictures here: the grid is links
    var counter = $(".cattags-selected", form);
    var folderField = $("input[name=folder]", form);
    var datalist = $("#cattags-folders", form);
    var anchor = null;  // the last picture clicked, for Shift-click ranges

    function selected() { return checks.filter(function (box) { return box.checked; }); }
    function update() {
      var count = selected().length;
      counter.textContent = count ? count + (count === 1 ? " picture selected" : " pictures selected") : "Tick pictures, then move them";
      grid.classList.toggle("cattags-selecting", count > 0);
    }
    function clear() { checks.forEach(function (box) { box.checked = false; }); update(); }

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
    var all = $(".cattags-all", form), none = $(".cattags-none", form);
    if (all) all.addEventListener("click", function () { checks.forEach(function (box) { box.checked = true; }); update(); });
    if (none) none.addEventListener("click", clear);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !typing(event)) clear();
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
      move(selected().map(function (box) { return box.value; }), folderField.value);
    });

    // Drag one picture, or the selection it belongs to, onto a folder.
    var dragged = [];
    $$(".cattags-frame", grid).forEach(function (frame) { frame.setAttribute("draggable", "true"); });
    grid.addEventListener("dragstart", function (event) {
      var cell = event.target.closest && event.target.closest(".cattags-cell");
      if (!cell) return;
      var box = $(".cattags-check", cell);
      dragged = box.checked ? selected().map(function (b) { return b.value; }) : [box.value];
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
