// collectd-view: the web interface's only script (embedded in the binary, no build step).
// Every page works without it; it adds search as you type, drag-to-zoom, hover readout,
// automatic reload of relative ranges, keyboard pan/zoom, the "add to graph" basket and
// saved views. State that matters lives in the URL; the basket and saved views live in
// this browser's localStorage.
(function () {
  "use strict";

  var BASKET = "collectd-view.basket";
  var VIEWS = "collectd-view.views";

  function load(key) {
    try { var v = JSON.parse(localStorage.getItem(key) || "[]"); return Array.isArray(v) ? v : []; }
    catch (e) { return []; }
  }
  function store(key, v) { try { localStorage.setItem(key, JSON.stringify(v)); } catch (e) { /* private mode */ } }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ---- The combined-graph basket ---------------------------------------------------
  function combineUrl(refs) {
    var q = new URLSearchParams();
    refs.forEach(function (r) { q.append("s", r); });
    var s = q.toString();
    return "/combine" + (s ? "?" + s : "");
  }
  // The current page's range, carried by the link to the combined graph.
  function rangeParams() {
    var here = new URLSearchParams(location.search), out = [];
    ["start", "end"].forEach(function (k) { if (here.get(k)) out.push([k, here.get(k)]); });
    return out;
  }
  function showBasket(bump) {
    var refs = load(BASKET);
    var link = document.getElementById("basket");
    var count = document.getElementById("basket-count");
    if (!link || !count) return;
    count.textContent = String(refs.length);
    var u = new URL(combineUrl(refs), location.href);
    rangeParams().forEach(function (kv) { u.searchParams.set(kv[0], kv[1]); });
    link.href = u.pathname + u.search;
    if (bump) { link.classList.remove("bump"); void link.offsetWidth; link.classList.add("bump"); }
  }
  function addToBasket(ref, control) {
    var refs = load(BASKET);
    var already = refs.indexOf(ref) >= 0;
    if (!already) refs.push(ref);
    store(BASKET, refs.slice(0, 50));
    showBasket(true);
    if (control) {
      control.classList.add("added");
      control.setAttribute("data-added", "1");
      // Say what happened, in the control and to assistive technology.
      control.textContent = already ? "✓ already in the combined graph" : "✓ added to the combined graph";
      control.setAttribute("aria-label", control.textContent);
      control.removeAttribute("href");
      control.setAttribute("aria-disabled", "true");
      var live = document.getElementById("announce");
      if (live) live.textContent = (already ? "Already in" : "Added to") + " the combined graph (" + load(BASKET).length + " series)";
    }
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest(".add[data-ref]");
    if (b) { ev.preventDefault(); if (b.getAttribute("data-added") !== "1") addToBasket(b.getAttribute("data-ref"), b); return; }
    var c = ev.target.closest && ev.target.closest("a[data-clear]");
    if (c) { store(BASKET, []); }
    // Reordering or removing on the combined graph: the collection follows.
    var m = ev.target.closest && ev.target.closest(".series-list .actions a, a.add-here, a[data-adopt]");
    if (m) { store(BASKET, new URL(m.href, location.href).searchParams.getAll("s")); }
    var cp = ev.target.closest && ev.target.closest("button.copy[data-copy]");
    if (cp) {
      var pre = document.getElementById(cp.getAttribute("data-copy"));
      if (pre && navigator.clipboard) {
        navigator.clipboard.writeText(pre.textContent).then(function () { cp.textContent = "Copied"; });
      }
    }
  });
  if (document.body.getAttribute("data-page") === "combine") {
    // The URL is this graph; the visitor's own collection is kept unless they say so.
    var shown = new URLSearchParams(location.search).getAll("s");
    var mine = load(BASKET);
    var same = mine.length === shown.length && mine.every(function (r, i) { return r === shown[i]; });
    if (!mine.length) {
      store(BASKET, shown);
    } else if (!same && shown.length) {
      var note = el("div", "notice");
      note.id = "collection-notice";
      note.setAttribute("role", "status");
      note.appendChild(el("span", "", "This graph is not your combined graph (" + mine.length + " series), which is kept. "));
      var replace = el("button", "", "Make this my combined graph");
      replace.type = "button"; replace.id = "adopt";
      replace.addEventListener("click", function () {
        store(BASKET, shown); showBasket(true); note.textContent = "This is now your combined graph.";
      });
      var merge = el("button", "", "Add these series to mine");
      merge.type = "button"; merge.id = "merge";
      merge.addEventListener("click", function () {
        var refs = load(BASKET);
        shown.forEach(function (r) { if (refs.indexOf(r) < 0) refs.push(r); });
        store(BASKET, refs.slice(0, 50)); showBasket(true);
        note.textContent = "Added to your combined graph (" + load(BASKET).length + " series).";
      });
      var open = el("a", "", "Open mine");
      open.href = combineUrl(mine);
      note.appendChild(replace); note.appendChild(merge); note.appendChild(open);
      var main = document.querySelector("main");
      if (main) main.insertBefore(note, main.firstChild);
    }
  }
  showBasket(false);

  // ---- Saved views -------------------------------------------------------------------
  var saveBtn = document.getElementById("save-view");
  if (saveBtn) {
    saveBtn.addEventListener("click", function () {
      var name = window.prompt("Save this view as:", document.title.replace(/ · collectd-view$/, ""));
      if (!name) return;
      var views = load(VIEWS).filter(function (v) { return v.name !== name; });
      views.push({ name: name, url: location.pathname + location.search });
      store(VIEWS, views);
      saveBtn.textContent = "★ Saved";
    });
  }
  var saved = document.getElementById("saved-views");
  if (saved) {
    var views = load(VIEWS);
    if (views.length) {
      saved.hidden = false;
      saved.appendChild(el("span", "muted", "Saved views: "));
      views.forEach(function (v) {
        var a = el("a", "", v.name);
        a.href = v.url;
        saved.appendChild(a);
      });
    }
  }

  // ---- Search as you type -------------------------------------------------------------
  var q = document.getElementById("q");
  var results = document.getElementById("search-results");
  if (q && results && document.body.getAttribute("data-page") === "overview") {
    var timer = null, seq = 0;
    var run = function () {
      var text = q.value.trim();
      var url = new URL(location.href);
      if (text) url.searchParams.set("q", text); else url.searchParams.delete("q");
      history.replaceState(null, "", url.pathname + url.search);
      if (!text) { results.hidden = true; results.textContent = ""; return; }
      var mine = ++seq;
      fetch("/search.json?limit=100&q=" + encodeURIComponent(text)).then(function (r) { return r.json(); }).then(function (d) {
        if (mine !== seq) return;
        results.textContent = "";
        var count = el("p", "count", d.total + " of " + d.series + " series match" +
          (d.total > d.shown ? " (first " + d.shown + " shown)" : ""));
        count.id = "result-count";
        results.appendChild(count);
        var ul = el("ul", "results");
        d.results.forEach(function (r) {
          var li = el("li");
          var a = el("a", "", r.label);
          a.href = r.href;
          var b = el("a", "add", "+ add");
          b.href = combineUrl([r.ref]);
          b.setAttribute("data-ref", r.ref);
          b.setAttribute("role", "button");
          b.setAttribute("aria-label", "+ add " + r.label + " to the combined graph");
          li.appendChild(a); li.appendChild(b); ul.appendChild(li);
        });
        results.appendChild(ul);
        results.hidden = false;
      }).catch(function () { /* keep the last results */ });
    };
    q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 80); });
    q.form.addEventListener("submit", function (ev) { ev.preventDefault(); clearTimeout(timer); run(); });
  }

  // ---- Graphs: geometry, zoom, hover, refresh ------------------------------------------
  function num(v) { return v === undefined || v === null || v === "" ? NaN : Number(v); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function fmtTime(t) {
    var d = new Date(t * 1000);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  // Four significant digits; k, M, G, T for large values, no prefix below 1000 (so no
  // "17.24m" for a count of 0.01724).
  function fmtValue(v) {
    if (v === null || v === undefined || !isFinite(v)) return "—";
    var a = Math.abs(v);
    if (a === 0) return "0";
    var units = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
    for (var i = 0; i < units.length; i++) {
      if (a >= units[i][0]) return (v / units[i][0]).toPrecision(4).replace(/\.?0+$/, "") + units[i][1];
    }
    if (a < 1e-4) return v.toExponential(2);
    return String(Number(v.toPrecision(4)));
  }
  function geometry(plot) {
    var g = {
      left: num(plot.dataset.left), top: num(plot.dataset.top), width: num(plot.dataset.width),
      height: num(plot.dataset.height), start: num(plot.dataset.start), end: num(plot.dataset.end)
    };
    return isFinite(g.left) && isFinite(g.width) && g.width > 0 && isFinite(g.start) ? g : null;
  }
  function setGeometry(plot, j) {
    plot.dataset.left = j.graph_left; plot.dataset.top = j.graph_top;
    plot.dataset.width = j.graph_width; plot.dataset.height = j.graph_height;
    plot.dataset.start = j.start; plot.dataset.end = j.end;
    plot.dataset.refresh = j.refresh;
  }
  // Image pixels → CSS pixels (the image may be scaled down to fit).
  // (rrdtool's --zoom draws the image at that many times its geometry.)
  function scale(img) {
    var z = Number(img.dataset.zoom || "1") || 1;
    return img.naturalWidth ? img.clientWidth / (img.naturalWidth / z) : 1;
  }

  function navigateRange(start, end) {
    var url = new URL(location.href);
    url.searchParams.set("start", String(Math.floor(start)));
    url.searchParams.set("end", String(Math.ceil(end)));
    location.assign(url.pathname + url.search);
  }

  function showError(plot, img) {
    fetch(img.src, { headers: { Accept: "text/plain" } }).then(function (r) {
      return r.text().then(function (t) { return { status: r.status, text: t, title: r.headers.get("x-graph-error") }; });
    }).then(function (res) {
      var box = el("div", "graph-error");
      box.setAttribute("role", "alert");
      box.appendChild(el("strong", "", res.title || ("HTTP " + res.status)));
      var div = document.createElement("div");
      div.innerHTML = res.text; // our own SVG, its text escaped by the server
      var msg = Array.prototype.map.call(div.querySelectorAll("text"), function (t) { return t.textContent; }).slice(1).join(" ");
      box.appendChild(el("pre", "", msg || res.text));
      plot.replaceWith(box);
    }).catch(function () { /* leave it */ });
  }

  // Requests a graph at the width it is shown, at the screen's density: a narrow screen
  // gets a narrower plot (readable text, not a large image shrunk), a 2x screen a 2x image.
  function fitPlot(plot, img) {
    var zoom = (window.devicePixelRatio || 1) >= 1.5 ? 2 : 1;
    var w = num(plot.dataset.w), iw = num(plot.dataset.iw);
    var room = Math.floor((plot.parentElement || plot).clientWidth);
    var want = w;
    if (isFinite(w) && isFinite(iw) && room > 0 && iw > room) want = Math.max(120, w - (iw - room));
    if (want === w && zoom === 1) return;
    ["src", "geo", "data"].forEach(function (k) {
      if (!plot.dataset[k]) return;
      var u = new URL(plot.dataset[k], location.href);
      u.searchParams.set("w", String(want));
      if (k !== "data") { if (zoom > 1) u.searchParams.set("zoom", String(zoom)); else u.searchParams.delete("zoom"); }
      plot.dataset[k] = u.pathname + u.search;
    });
    ["left", "top", "width", "height", "iw"].forEach(function (k) { delete plot.dataset[k]; });
    img.dataset.zoom = String(zoom);
    img.removeAttribute("width"); img.removeAttribute("height");
    img.addEventListener("load", function () { img.style.width = (img.naturalWidth / zoom) + "px"; });
    img.src = plot.dataset.src;
  }

  function setupPlot(plot) {
    var img = plot.querySelector("img");
    if (!img) return;
    fitPlot(plot, img);
    var interactive = plot.dataset.interactive === "1";
    var sel = el("div", "sel"); sel.hidden = true;
    var cursor = el("div", "cursor"); cursor.hidden = true;
    var tip = el("div", "tip"); tip.hidden = true;
    plot.appendChild(sel); plot.appendChild(cursor); plot.appendChild(tip);
    var data = null, dataFor = null, loading = false;
    var drag = null;

    function refreshGeometry() {
      return fetch(plot.dataset.geo).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
        if (j) { setGeometry(plot, j); plot.classList.toggle("zoomable", interactive); }
      }).catch(function () {});
    }
    img.addEventListener("error", function () { showError(plot, img); });
    img.addEventListener("load", function () {
      // The geometry embedded by the server is for the first image; later images fetch theirs.
      if (img.dataset.reloaded === "1" || !geometry(plot)) refreshGeometry();
    });
    if (geometry(plot)) plot.classList.toggle("zoomable", interactive);

    function local(ev) {
      var r = img.getBoundingClientRect();
      var s = scale(img);
      return { x: (ev.clientX - r.left) / s, y: (ev.clientY - r.top) / s, s: s };
    }
    function timeAt(g, x) { return g.start + (x - g.left) / g.width * (g.end - g.start); }
    function inPlot(g, p) { return p.x >= g.left && p.x <= g.left + g.width && p.y >= g.top - 2 && p.y <= g.top + g.height + 2; }

    function loadData(g) {
      var key = g.start + ":" + g.end;
      if (loading || dataFor === key) return;
      loading = true;
      var u = new URL(plot.dataset.data, location.href);
      u.searchParams.set("start", String(g.start));
      u.searchParams.set("end", String(g.end));
      fetch(u.pathname + u.search).then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
        data = d; dataFor = key; loading = false;
      }).catch(function () { loading = false; });
    }

    function readout(g, p) {
      var t = timeAt(g, p.x);
      var s = p.s;
      cursor.hidden = false;
      cursor.style.left = (p.x * s) + "px";
      cursor.style.top = (g.top * s) + "px";
      cursor.style.height = (g.height * s) + "px";
      tip.textContent = "";
      var head = el("div", "t", fmtTime(Math.round(t)));
      tip.appendChild(head);
      if (data && data.rows && data.rows.length) {
        var best = null, bd = Infinity;
        for (var i = 0; i < data.rows.length; i++) {
          var d = Math.abs(data.rows[i][0] - t);
          if (d < bd) { bd = d; best = data.rows[i]; }
        }
        if (best) {
          head.textContent = fmtTime(best[0]);
          for (var k = 0; k < data.legends.length; k++) {
            var line = el("div");
            line.appendChild(el("span", "", data.legends[k] + ": "));
            line.appendChild(el("b", "", fmtValue(best[k + 1])));
            tip.appendChild(line);
          }
        }
      } else {
        loadData(g);
      }
      tip.hidden = false;
      var x = p.x * s + 14;
      if (x + tip.offsetWidth > plot.clientWidth) x = p.x * s - tip.offsetWidth - 14;
      tip.style.left = Math.max(0, x) + "px";
      tip.style.top = (g.top * s + 4) + "px";
      var ro = document.getElementById("readout");
      if (ro) ro.textContent = tip.innerText.replace(/\n/g, "  ");
      plot.dataset.hoverTime = String(best ? best[0] : Math.round(t));
    }

    if (interactive) {
      plot.addEventListener("mousedown", function (ev) {
        var g = geometry(plot); if (!g || ev.button !== 0) return;
        var p = local(ev); if (!inPlot(g, p)) return;
        ev.preventDefault();
        drag = { x0: Math.max(g.left, Math.min(g.left + g.width, p.x)), s: p.s, g: g };
      });
      window.addEventListener("mousemove", function (ev) {
        if (!drag) return;
        var p = local(ev), g = drag.g;
        var x1 = Math.max(g.left, Math.min(g.left + g.width, p.x));
        var a = Math.min(drag.x0, x1), b = Math.max(drag.x0, x1);
        sel.hidden = false;
        sel.style.left = (a * drag.s) + "px"; sel.style.width = ((b - a) * drag.s) + "px";
        sel.style.top = (g.top * drag.s) + "px"; sel.style.height = (g.height * drag.s) + "px";
        drag.x1 = x1;
      });
      window.addEventListener("mouseup", function () {
        if (!drag) return;
        var d = drag; drag = null; sel.hidden = true;
        if (d.x1 === undefined || Math.abs(d.x1 - d.x0) < 3) return;
        var t0 = timeAt(d.g, Math.min(d.x0, d.x1)), t1 = timeAt(d.g, Math.max(d.x0, d.x1));
        if (t1 - t0 < 10) { var m = (t0 + t1) / 2; t0 = m - 5; t1 = m + 5; }
        navigateRange(t0, t1);
      });
      plot.addEventListener("mousemove", function (ev) {
        var g = geometry(plot); if (!g || drag) return;
        var p = local(ev);
        if (!inPlot(g, p)) { tip.hidden = true; cursor.hidden = true; return; }
        readout(g, p);
      });
      plot.addEventListener("mouseleave", function () { tip.hidden = true; cursor.hidden = true; });
      // Shift + wheel zooms around the pointer.
      plot.addEventListener("wheel", function (ev) {
        if (!ev.shiftKey) return;
        var g = geometry(plot); if (!g) return;
        var p = local(ev); if (!inPlot(g, p)) return;
        ev.preventDefault();
        var t = timeAt(g, p.x), f = (ev.deltaY || ev.deltaX) > 0 ? 2 : 0.5;
        navigateRange(t - (t - g.start) * f, t + (g.end - t) * f);
      }, { passive: false });
    }

    // Relative ranges reload by themselves, about once per pixel of time.
    var every = num(plot.dataset.refresh);
    if (every > 0) {
      setInterval(function () {
        if (document.hidden) return;
        var u = new URL(plot.dataset.src, location.href);
        u.searchParams.set("t", String(Date.now()));
        img.dataset.reloaded = "1";
        img.src = u.pathname + u.search;
        data = null; dataFor = null;
      }, every * 1000);
    }
  }
  Array.prototype.forEach.call(document.querySelectorAll(".plot"), setupPlot);

  // ---- Sparklines: minimum, maximum and last value, once drawn ------------------------
  // (The image is requested only when on screen; its numbers come from the same rendering.)
  function sparkStats(img) {
    var item = img.closest(".spark-item");
    var out = item && item.querySelector(".spark-stats");
    if (!out || out.dataset.done) return;
    out.dataset.done = "1";
    var u = new URL(img.src, location.href);
    fetch("/graph.json" + u.search).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
      if (!j || !j.values || !j.values.length) return;
      var v = j.values[j.values.length - 1];
      var unit = j.unit ? " " + j.unit : "";
      if (!j.has_data) { out.textContent = "no data in range"; return; }
      var trend = "";
      if (v.last !== null && v.avg !== null && isFinite(v.avg)) {
        var d = v.last - v.avg, band = Math.max(Math.abs(v.avg) * 0.1, 1e-9);
        trend = d > band ? " ↑" : d < -band ? " ↓" : " →";
      }
      out.textContent = fmtValue(v.min) + "–" + fmtValue(v.max) + unit + " · last " + fmtValue(v.last) + trend;
      out.title = "minimum–maximum over the range, last value, and the last value against the average";
    }).catch(function () {});
  }
  Array.prototype.forEach.call(document.querySelectorAll(".spark-item img"), function (img) {
    if (img.complete && img.naturalWidth) sparkStats(img);
    else img.addEventListener("load", function () { sparkStats(img); });
  });

  // ---- Keys: ← → pan, + − zoom ------------------------------------------------------
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var id = { ArrowLeft: "pan-earlier", ArrowRight: "pan-later", "-": "zoom-out", "+": "zoom-in", "=": "zoom-in" }[ev.key];
    var a = id && document.getElementById(id);
    if (a) { ev.preventDefault(); location.assign(a.href); }
  });
})();
