// Tabs and the two big tables of report.html. Data comes from the JSON block, and every value
// is put in the page with textContent, never as markup: argv can contain anything.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var PAGE = 500;
  var source = document.getElementById("report-data");
  var data = source ? JSON.parse(source.textContent) : { processes: [], events: [] };

  // --- tabs -------------------------------------------------------------------------------
  var tabs = Array.prototype.slice.call(document.querySelectorAll(".tabs a[data-tab]"));
  function show(id) {
    var known = tabs.some(function (t) { return t.dataset.tab === id; });
    if (!known) id = tabs.length ? tabs[0].dataset.tab : "";
    tabs.forEach(function (t) { t.classList.toggle("active", t.dataset.tab === id); });
    document.querySelectorAll(".panel").forEach(function (p) { p.classList.toggle("active", p.id === id); });
  }
  // With tabs, the fragment picks a tab rather than a scroll position: keep the verdict in view.
  function fromHash() {
    show(decodeURIComponent(location.hash.slice(1)));
    window.scrollTo(0, 0);
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a[data-tab], a[data-goto]");
    if (!a) return;
    ev.preventDefault();
    var id = a.dataset.tab || a.dataset.goto;
    history.replaceState(null, "", "#" + id);
    show(id);
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();

  // --- helpers ----------------------------------------------------------------------------
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function offset(ms) {
    if (ms === null || ms === undefined) return "?";
    var s = Math.floor(ms / 1000), rest = String(ms % 1000);
    return "+" + s + "." + "000".slice(rest.length) + rest + "s";
  }
  function num(n) { return Number(n).toLocaleString("en-US"); }
  // "pid:123" and "seq:45" select by number; every other word must appear in the row's text.
  function parseQuery(q) {
    var out = { words: [], pid: null, seq: null };
    q.toLowerCase().split(/\s+/).filter(Boolean).forEach(function (w) {
      var m = /^(pid|seq):(\d+)$/.exec(w);
      if (m) out[m[1]] = Number(m[2]); else out.words.push(w);
    });
    return out;
  }
  function debounce(fn) {
    var t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, 120); };
  }

  // A table that shows the matching rows a page at a time, so 20,000 rows stay responsive.
  function pagedTable(opts) {
    var tbody = document.querySelector("#" + opts.table + " tbody");
    var more = document.getElementById(opts.more);
    var count = document.getElementById(opts.count);
    if (!tbody) return null;
    var matches = [], shown = 0;
    function renderMore() {
      var frag = document.createDocumentFragment();
      var end = Math.min(matches.length, shown + PAGE);
      for (var i = shown; i < end; i++) frag.appendChild(opts.row(matches[i]));
      tbody.appendChild(frag);
      shown = end;
      more.hidden = shown >= matches.length;
      more.textContent = "Show " + num(Math.min(PAGE, matches.length - shown)) + " more";
      count.textContent = "Showing " + num(shown) + " of " + num(matches.length) +
        (matches.length === opts.rows.length ? "" : " matching (" + num(opts.rows.length) + " in all)");
    }
    function refresh() {
      var test = opts.filter();
      matches = opts.rows.filter(test);
      tbody.textContent = "";
      shown = 0;
      renderMore();
    }
    more.addEventListener("click", renderMore);
    refresh();
    return refresh;
  }

  // --- processes ----------------------------------------------------------------------------
  // Row: [id, pid, vpid, parent, exe, argv[1..] as a line, exit text, exit ok, offset ms, children, violations, flags]
  var procs = data.processes || [];
  var procFilter = document.getElementById("process-filter");
  var notable = document.getElementById("process-notable");
  var eventFilter = document.getElementById("event-filter");
  var refreshEvents = null;
  function showEventsOf(pid) {
    if (!eventFilter) return;
    eventFilter.value = "pid:" + pid;
    if (refreshEvents) refreshEvents();
    history.replaceState(null, "", "#events");
    show("events");
  }
  var refreshProcs = pagedTable({
    table: "process-table", more: "process-more", count: "process-count", rows: procs,
    filter: function () {
      var q = parseQuery(procFilter ? procFilter.value : "");
      var onlyNotable = notable && notable.checked;
      return function (p) {
        if (onlyNotable && !(p[10] > 0 || p[11].indexOf("outlived") >= 0)) return false;
        if (q.pid !== null && p[1] !== q.pid && p[2] !== q.pid) return false;
        if (!q.words.length) return true;
        var hay = ((p[4] || "") + " " + p[5] + " " + p[6] + " " + p[11]).toLowerCase();
        return q.words.every(function (w) { return hay.indexOf(w) >= 0; });
      };
    },
    row: function (p) {
      var tr = el("tr");
      var pid = el("td", p[1], "num");
      if (p[2] !== null && p[2] !== p[1]) pid.title = "pid " + p[2] + " inside the fence";
      tr.appendChild(pid);
      tr.appendChild(el("td", offset(p[8]), "num"));
      var cmd = el("td");
      var code = el("code", null, "cmd");
      code.appendChild(el("b", p[4] || "?"));
      if (p[5]) code.appendChild(document.createTextNode(" " + p[5]));
      cmd.appendChild(code);
      tr.appendChild(cmd);
      var exit = el("td");
      exit.appendChild(el("span", p[6], "pill " + (p[7] ? "ok" : (p[6] === "no exit seen" ? "" : "bad"))));
      tr.appendChild(exit);
      tr.appendChild(el("td", p[9] ? num(p[9]) : "", "num"));
      var notes = el("td");
      if (p[10] > 0) notes.appendChild(el("span", num(p[10]) + " violation" + (p[10] === 1 ? "" : "s"), "pill bad strong"));
      if (p[11]) notes.appendChild(el("span", " " + p[11], "muted"));
      var link = el("a", " events", "linkish");
      link.href = "#events";
      link.addEventListener("click", function (ev) { ev.preventDefault(); showEventsOf(p[1]); });
      notes.appendChild(link);
      tr.appendChild(notes);
      return tr;
    }
  });
  if (refreshProcs) {
    procFilter.addEventListener("input", debounce(refreshProcs));
    notable.addEventListener("change", refreshProcs);
  }

  // --- events -------------------------------------------------------------------------------
  // Row: [seq, offset ms, kind, pid, process id, summary, violation]
  var events = data.events || [];
  var kind = document.getElementById("event-kind");
  function procName(id) {
    var p = id === null || id === undefined ? null : procs[id];
    if (!p || !p[4]) return "";
    var exe = p[4];
    return exe.slice(exe.lastIndexOf("/") + 1);
  }
  refreshEvents = pagedTable({
    table: "event-table", more: "event-more", count: "event-count", rows: events,
    filter: function () {
      var q = parseQuery(eventFilter ? eventFilter.value : "");
      var k = kind ? kind.value : "";
      return function (e) {
        if (k && e[2] !== k) return false;
        if (q.pid !== null && e[3] !== q.pid) return false;
        if (q.seq !== null && e[0] !== q.seq) return false;
        if (!q.words.length) return true;
        var hay = (e[2] + " " + e[5] + " " + procName(e[4])).toLowerCase();
        return q.words.every(function (w) { return hay.indexOf(w) >= 0; });
      };
    },
    row: function (e) {
      var tr = el("tr");
      if (e[6]) tr.className = "row-violation";
      if (e[2] === "sensor.lost") tr.className = "row-lost";
      tr.appendChild(el("td", e[0], "num"));
      tr.appendChild(el("td", offset(e[1]), "num"));
      tr.appendChild(el("td", e[2], "kind kind-" + e[2].replace(/\./g, "-")));
      tr.appendChild(el("td", e[3] === null ? "" : e[3], "num"));
      tr.appendChild(el("td", procName(e[4]), "mono"));
      tr.appendChild(el("td", e[5], "mono"));
      return tr;
    }
  });
  if (refreshEvents) {
    eventFilter.addEventListener("input", debounce(refreshEvents));
    kind.addEventListener("change", refreshEvents);
  }
})();
