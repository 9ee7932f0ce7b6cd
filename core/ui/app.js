// The click dashboard: sign in, list the user's backups and drives, show one's report as
// charts, and refresh it when /notification or /statechange says something concerning it
// happened. Hand-written, no framework; charts are SVG built here. Every call carries the
// user's token (kept in sessionStorage) in the Authorization header; the WebSockets, which a
// browser cannot give headers, take it as ?token= as the agent documents.
"use strict";

(function () {
  const TOKEN_KEY = "click.dashboard.token";
  const SVG = "http://www.w3.org/2000/svg";
  // At most one report refresh this often, however many frames arrive.
  const MIN_REFRESH_GAP_MS = 2000;
  const TRANSFER_STATUS = { 1: "Queued", 2: "Running", 4: "Completed", 8: "Canceled", 16: "Failed" };

  // The API is served where the page's folder is: <root>/ui/ -> <root>/.
  const apiRoot = new URL("../", location.href);
  const wsRoot = new URL(apiRoot.href);
  wsRoot.protocol = location.protocol === "https:" ? "wss:" : "ws:";

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || "",
    mfaSession: "",
    backups: [],
    drives: [],
    current: null, // {kind, id, item}
    reportData: null,
    refreshing: false,
    again: false,
    lastRefresh: 0,
    timer: null,
    listTimer: null,
    sockets: {},
    socketsWanted: false,
  };

  const $ = (id) => document.getElementById(id);
  const field = (name) => document.querySelector('#report [data-field="' + name + '"]');

  // ------------------------------------------------------------------ formatting

  function fmtInt(n) {
    return Number(n || 0).toLocaleString("en-US");
  }

  function fmtBytes(n) {
    const units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let v = Number(n || 0);
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u += 1;
    }
    return u === 0 ? v + " B" : v.toFixed(1) + " " + units[u];
  }

  function fmtTime(d) {
    const p = (x) => String(x).padStart(2, "0");
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
  }

  function fmtWhen(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    const today = new Date();
    if (d.toDateString() === today.toDateString()) return fmtTime(d);
    return d.toISOString().slice(0, 10) + " " + fmtTime(d).slice(0, 5);
  }

  function safeColor(c, fallback) {
    return typeof c === "string" && /^#[0-9a-fA-F]{3,8}$/.test(c) ? c : fallback;
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svgEl(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function setField(name, value, text) {
    const f = field(name);
    if (!f) return;
    f.dataset.value = String(value);
    f.textContent = text === undefined ? String(value) : text;
  }

  function banner(message) {
    const b = $("banner");
    b.textContent = message || "";
    b.hidden = !message;
  }

  // ------------------------------------------------------------------ API calls

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, options) {
    const opts = options || {};
    const headers = { Accept: "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    let body;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    const res = await fetch(new URL(path, apiRoot), {
      method: opts.method || "GET",
      headers,
      body,
      credentials: "omit",
      cache: "no-store",
    });
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch (_) {
      json = null;
    }
    if (!res.ok) {
      let message = res.status + " " + res.statusText;
      if (json && json.errors) {
        const first = Object.values(json.errors)[0];
        if (Array.isArray(first) && first.length) message = first[0];
      }
      if (res.status === 401 && state.token && !opts.signingIn) {
        signedOut("Your session has ended; please sign in again.");
      }
      throw new ApiError(res.status, message);
    }
    return json;
  }

  // ------------------------------------------------------------------ sign-in

  function showSignIn(message) {
    $("app").hidden = true;
    $("who").hidden = true;
    $("signin").hidden = false;
    $("code-row").hidden = !state.mfaSession;
    $("signin-error").textContent = message || "";
    $("password").value = "";
    (state.mfaSession ? $("code") : $("email")).focus();
  }

  async function onSignIn(event) {
    event.preventDefault();
    const submit = $("signin-submit");
    submit.disabled = true;
    $("signin-error").textContent = "";
    try {
      let answer;
      if (state.mfaSession) {
        answer = await api("authentication/mfa_respond", {
          method: "POST",
          body: { userCode: $("code").value.trim(), session: state.mfaSession },
          signingIn: true,
        });
      } else {
        answer = await api("authentication/login", {
          method: "POST",
          body: { username: $("email").value.trim(), password: $("password").value },
          signingIn: true,
        });
      }
      if (answer && answer.challenge === 1 && answer.session) {
        state.mfaSession = answer.session;
        $("code-row").hidden = false;
        $("code").focus();
        $("signin-error").textContent = "Enter the code from your authenticator app.";
        return;
      }
      if (!answer || !answer.jwtToken) throw new ApiError(0, "The agent gave no token.");
      state.mfaSession = "";
      state.token = answer.jwtToken;
      sessionStorage.setItem(TOKEN_KEY, state.token);
      $("password").value = "";
      $("code").value = "";
      await showApp();
    } catch (e) {
      $("signin-error").textContent =
        e.status === 401 ? "Wrong email or password." : e.message || String(e);
      if (!state.mfaSession) {
        $("password").value = "";
        $("password").focus();
      }
    } finally {
      submit.disabled = false;
    }
  }

  function signedOut(message) {
    const token = state.token;
    state.token = "";
    state.current = null;
    sessionStorage.removeItem(TOKEN_KEY);
    closeSockets();
    clearTimeout(state.timer);
    state.timer = null;
    showReportEmpty();
    showSignIn(message);
    return token;
  }

  async function onSignOut() {
    const token = signedOut("");
    if (token) {
      try {
        await fetch(new URL("authentication/logout", apiRoot), {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
          body: JSON.stringify({ jwtToken: token }),
          credentials: "omit",
        });
      } catch (_) {
        // Signed out here in any case; the token lapses on its own.
      }
    }
  }

  async function showApp() {
    $("signin").hidden = true;
    $("app").hidden = false;
    $("who").hidden = false;
    banner("");
    try {
      const me = await api("authentication/user");
      $("user-name").textContent = (me && me.username) || "";
    } catch (e) {
      if (e.status === 401) return;
    }
    openSockets();
    await loadLists();
    const wanted = /^#(backup|drive)\/(.+)$/.exec(location.hash);
    if (wanted && !state.current) select(wanted[1], decodeURIComponent(wanted[2]));
  }

  // ------------------------------------------------------------------ the lists

  async function loadLists() {
    const [backups, drives] = await Promise.all([
      api("management/cloudbackup").catch((e) => (e.status === 401 ? null : failList(e))),
      api("management/clouddrive").catch((e) => (e.status === 401 ? null : failList(e))),
    ]);
    if (!state.token) return;
    state.backups = Array.isArray(backups) ? backups : [];
    state.drives = Array.isArray(drives) ? drives : [];
    renderList($("backups"), "backup", state.backups, "No backups yet.");
    renderList($("drives"), "drive", state.drives, "No drives yet.");
    if (state.current) {
      const item = find(state.current.kind, state.current.id);
      if (item) state.current.item = item;
    }
  }

  function failList(e) {
    banner("Could not list backups and drives: " + e.message);
    return [];
  }

  function find(kind, id) {
    return (kind === "backup" ? state.backups : state.drives).find((x) => x.id === id);
  }

  function renderList(ul, kind, items, none) {
    ul.replaceChildren();
    if (!items.length) {
      ul.append(el("li", { class: "none" }, none));
      return;
    }
    for (const item of items) {
      const li = el("li");
      const b = el("button", {
        type: "button",
        class: "item",
        "data-kind": kind,
        "data-id": item.id,
      });
      if (state.current && state.current.kind === kind && state.current.id === item.id) {
        b.classList.add("selected");
        b.setAttribute("aria-current", "true");
      }
      const name = el("span", { class: "name" }, item.name || item.driveName || item.id);
      const dot = el("span", { class: item.active === false ? "dot off" : "dot on" });
      name.prepend(dot);
      const where = (item.storageName || "") + (item.prefix ? "/" + item.prefix.replace(/^\/+/, "") : "");
      b.append(name, el("span", { class: "where" }, item.localPath || ""), el("span", { class: "where" }, where));
      b.addEventListener("click", () => select(kind, item.id));
      li.append(b);
      ul.append(li);
    }
  }

  function scheduleLists() {
    if (state.listTimer) return;
    state.listTimer = setTimeout(() => {
      state.listTimer = null;
      if (state.token) loadLists();
    }, 500);
  }

  // ------------------------------------------------------------------ one report

  function showReportEmpty() {
    $("report-view").hidden = true;
    $("report-empty").hidden = false;
    const r = $("report");
    r.dataset.kind = "";
    r.dataset.id = "";
  }

  function select(kind, id) {
    const item = find(kind, id);
    if (!item) {
      banner("That " + kind + " is not there any more.");
      return;
    }
    banner("");
    state.current = { kind, id, item };
    state.reportData = null;
    history.replaceState(null, "", "#" + kind + "/" + encodeURIComponent(id));
    for (const b of document.querySelectorAll(".items .item")) {
      const on = b.dataset.kind === kind && b.dataset.id === id;
      b.classList.toggle("selected", on);
      if (on) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    }
    const r = $("report");
    r.dataset.kind = kind;
    r.dataset.id = id;
    r.dataset.refreshes = "0";
    r.dataset.ready = "false";
    $("report-empty").hidden = true;
    $("report-view").hidden = false;
    $("r-title").textContent = item.name || id;
    $("r-sub").textContent = subtitle(kind, item);
    for (const f of document.querySelectorAll("#report [data-field]")) {
      f.textContent = "…";
      delete f.dataset.value;
    }
    clearTimeout(state.timer);
    state.timer = null;
    refresh();
  }

  function subtitle(kind, item) {
    const where = (item.storageName || "") + "/" + String(item.prefix || "").replace(/^\/+/, "");
    return (kind === "backup" ? "Backup of " : "Drive of ") + (item.localPath || "") + " → " + where;
  }

  // Refreshes now, or after the one under way.
  async function refresh() {
    if (!state.current || !state.token) return;
    if (state.refreshing) {
      state.again = true;
      return;
    }
    state.refreshing = true;
    state.lastRefresh = Date.now();
    const { kind, id } = state.current;
    const base = kind === "backup" ? "backupreport/" : "drivereport/";
    const eid = encodeURIComponent(id);
    try {
      const [board, states, trends, activity] = await Promise.all([
        api(base + "dashboard/" + eid + "?topFiles=8&topDirectories=8"),
        api(base + "file_states/" + eid + "?pageSize=1"),
        api(base + "historical_trends/" + eid + "?days=14"),
        api(base + "transfer_activity/" + eid + "?page=1&pageSize=200"),
      ]);
      if (state.current && state.current.kind === kind && state.current.id === id) {
        state.reportData = { board, states, trends, activity };
        render(state.reportData);
        banner("");
        const r = $("report");
        r.dataset.refreshes = String(Number(r.dataset.refreshes || 0) + 1);
        r.dataset.ready = "true";
        $("updated").textContent = "Updated " + fmtTime(new Date());
      }
    } catch (e) {
      if (e.status !== 401) banner("Could not load the report: " + e.message);
    } finally {
      state.refreshing = false;
      if (state.again) {
        state.again = false;
        scheduleRefresh();
      }
    }
  }

  // A refresh soon, at most one per MIN_REFRESH_GAP_MS.
  function scheduleRefresh() {
    if (!state.current || state.timer) return;
    if (state.refreshing) {
      state.again = true;
      return;
    }
    const wait = Math.max(0, state.lastRefresh + MIN_REFRESH_GAP_MS - Date.now());
    state.timer = setTimeout(() => {
      state.timer = null;
      refresh();
    }, wait);
  }

  // ------------------------------------------------------------------ rendering

  function render(d) {
    const s = d.board.Summary || {};
    const h = d.board.SyncHealth || {};
    const dist = d.board.FileDistribution || {};
    const isDrive = state.current.kind === "drive";

    setField("totalFiles", s.TotalFiles || 0, fmtInt(s.TotalFiles));
    setField("filesNote", s.TotalFiles || 0, "tracked files");
    setField("totalSize", s.TotalSizeBytes || 0, s.TotalSizeFormatted || fmtBytes(s.TotalSizeBytes));
    setField("totalSizeBytes", s.TotalSizeBytes || 0, fmtInt(s.TotalSizeBytes) + " bytes");
    setField("totalDirectories", s.TotalDirectories || 0, fmtInt(s.TotalDirectories));
    setField("provider", s.CloudProvider || "", "on " + (s.CloudProvider || "the cloud"));
    const percent = h.SyncCompletionPercent !== undefined ? h.SyncCompletionPercent : h.OverallSyncCompletionPercent;
    setField("syncPercent", percent || 0, (percent || 0) + "%");
    setField("trackedNote", h.TotalTrackedFiles || 0, fmtInt(h.TotalTrackedFiles) + " tracked");
    const pending = (h.FilesPendingUpload || 0) + (h.FilesPendingDownload || 0);
    setField("pending", pending, fmtInt(pending));
    const active = (h.ActiveUploadCount || 0) + (h.ActiveDownloadCount || 0);
    setField("activeNote", active, active ? fmtInt(active) + " moving now" : "nothing moving");
    setField("errors", h.FilesWithErrors || 0, fmtInt(h.FilesWithErrors));
    const status = s.Status || h.BackupStatus || h.DriveStatus || "";
    setField("status", status, status);
    field("status").className = "status " + status.toLowerCase().replace(/[^a-z]/g, "");
    setField("healthStatus", status, (isDrive ? "Uploads " + (s.UploaderStatus || "") : s.UploaderStatus) || "");

    renderActivity(d.activity, d.trends);
    renderHealth(h, isDrive);
    renderStates(d.states);
    renderTypes(dist.FileCountByExtension || [], dist.SizeByExtension || []);
    renderSizes(dist.SizeDistribution || []);
    renderLargest(dist.LargestFiles || []);
    renderTransfers(d.activity);
  }

  function renderActivity(activity, trends) {
    const rows = (activity && activity.Data) || [];
    const now = Date.now();
    const minute = 60 * 1000;
    const start = Math.floor(now / minute) * minute - 59 * minute;
    const perMinute = [];
    for (let i = 0; i < 60; i++) perMinute.push({ label: "", value: 0, count: 0, at: start + i * minute });
    let hourBytes = 0;
    let hourCount = 0;
    for (const t of rows) {
      const end = Date.parse(t.endDate);
      if (isNaN(end) || end < start) continue;
      const i = Math.min(59, Math.floor((end - start) / minute));
      perMinute[i].value += t.transferredSize || 0;
      perMinute[i].count += 1;
      hourBytes += t.transferredSize || 0;
      hourCount += 1;
    }
    for (const p of perMinute) {
      const d = new Date(p.at);
      p.label = fmtTime(d).slice(0, 5);
      p.title = p.label + ": " + fmtBytes(p.value) + " in " + p.count + " transfer" + (p.count === 1 ? "" : "s");
    }
    barChart($("chart-recent"), perMinute, { format: fmtBytes, labelEvery: 15, color: "#2563eb" });

    const volume = (trends && trends.DataVolumePerDay) || [];
    const counts = (trends && trends.TransfersPerDay) || [];
    const days = volume.map((v, i) => ({
      label: String(v.Date || "").slice(5),
      value: v.Value || 0,
      title: (v.Date || "") + ": " + fmtBytes(v.Value) + " in " + fmtInt(counts[i] ? counts[i].Value : 0) + " transfers",
    }));
    barChart($("chart-days"), days, { format: fmtBytes, labelEvery: 3, color: "#0d9488" });

    const total = (activity && activity.Total) || 0;
    setField(
      "activityNote",
      hourCount,
      fmtInt(hourCount) + " in the last hour (" + fmtBytes(hourBytes) + ") · " + fmtInt(total) +
        (total === 1 ? " transfer, " : " transfers, ") +
        (trends ? trends.CumulativeDataTransferredFormatted || fmtBytes(trends.CumulativeDataTransferred) : "0 B") +
        " in all"
    );
  }

  function renderHealth(h, isDrive) {
    const svg = $("chart-health");
    svg.replaceChildren();
    const breakdown = (h.SyncStateBreakdown || []).filter((p) => p.Value > 0);
    const total = breakdown.reduce((a, p) => a + p.Value, 0);
    const r = 46;
    const c = 2 * Math.PI * r;
    svg.append(svgEl("circle", { cx: 60, cy: 60, r, class: "donut-track" }));
    let offset = 0;
    for (const p of breakdown) {
      const len = (p.Value / total) * c;
      const arc = svgEl("circle", {
        cx: 60, cy: 60, r,
        class: "donut-arc",
        stroke: safeColor(p.Color, "#94a3b8"),
        "stroke-dasharray": len + " " + (c - len),
        "stroke-dashoffset": String(-offset),
        transform: "rotate(-90 60 60)",
      });
      arc.append(svgEl("title", {}, p.Label + ": " + fmtInt(p.Value)));
      svg.append(arc);
      offset += len;
    }
    const percent = h.SyncCompletionPercent !== undefined ? h.SyncCompletionPercent : h.OverallSyncCompletionPercent;
    svg.append(svgEl("text", { x: 60, y: 60, class: "donut-big", "text-anchor": "middle", "dominant-baseline": "central" }, (percent || 0) + "%"));
    svg.append(svgEl("text", { x: 60, y: 82, class: "donut-small", "text-anchor": "middle" }, "in sync"));

    const rows = [
      ["In sync", h.FilesNormal, "#16a34a"],
      ["To upload", h.FilesPendingUpload, "#7c3aed"],
      ["Uploading", h.FilesUploading, "#6a1b9a"],
    ];
    if (isDrive) {
      rows.push(["To download", h.FilesPendingDownload, "#1565c0"]);
      rows.push(["Downloading", h.FilesDownloading, "#1e88e5"]);
    }
    rows.push(["Deleting", h.FilesDeleting, "#ef6c00"], ["Errors", h.FilesWithErrors, "#c62828"]);
    const dl = $("health-list");
    dl.replaceChildren();
    for (const [label, value, color] of rows) {
      const dt = el("dt");
      const sw = svgEl("svg", { width: 10, height: 10, class: "swatch", "aria-hidden": "true" });
      sw.append(svgEl("rect", { width: 10, height: 10, rx: 2, fill: color }));
      dt.append(sw, document.createTextNode(label));
      const dd = el("dd", { "data-health": label, "data-value": String(value || 0) }, fmtInt(value));
      dl.append(dt, dd);
    }
  }

  function renderStates(report) {
    const box = $("states");
    box.replaceChildren();
    const counts = (report && report.StateCounts) || [];
    const shown = counts.filter((c) => c.Count > 0);
    const rows = shown.length ? shown : counts.filter((c) => c.State === "Normal");
    const max = Math.max(1, ...rows.map((c) => c.Count));
    const colors = {};
    for (const p of ((state.reportData && state.reportData.board.Summary) || {}).FilesByState || []) {
      colors[p.Label] = p.Color;
    }
    for (const c of rows) {
      const row = el("div", { class: "row", "data-state": c.State, "data-value": String(c.Count) });
      row.append(el("span", { class: "label" }, c.State));
      const bar = svgEl("svg", { class: "hbar", viewBox: "0 0 100 10", preserveAspectRatio: "none", "aria-hidden": "true" });
      bar.append(svgEl("rect", { x: 0, y: 0, width: 100, height: 10, rx: 2, class: "hbar-track" }));
      bar.append(svgEl("rect", { x: 0, y: 0, width: (100 * c.Count) / max, height: 10, rx: 2, fill: safeColor(colors[c.State], "#64748b") }));
      row.append(bar);
      row.append(el("span", { class: "num", "data-field": "count", "data-value": String(c.Count) }, fmtInt(c.Count)));
      row.append(el("span", { class: "num dim", "data-field": "size", "data-value": String(c.TotalSize || 0) }, c.TotalSizeFormatted || fmtBytes(c.TotalSize)));
      box.append(row);
    }
    const total = report ? report.Total : 0;
    setField("statesNote", total || 0, fmtInt(total) + (total === 1 ? " file" : " files"));
  }

  // The file types with the most files (at most 6).
  function renderTypes(counts, sizes) {
    const box = $("types");
    box.replaceChildren();
    const bytes = {};
    for (const p of sizes) bytes[p.Label] = p.Value;
    const top = counts.filter((p) => p.Value > 0).slice(0, 6);
    if (!top.length) {
      box.append(el("p", { class: "none" }, "No files yet."));
      return;
    }
    const max = Math.max(1, ...top.map((p) => p.Value));
    for (const p of top) {
      const row = el("div", { class: "row", "data-type": p.Label, "data-value": String(p.Value) });
      row.append(el("span", { class: "label" }, p.Label));
      const bar = svgEl("svg", { class: "hbar", viewBox: "0 0 100 10", preserveAspectRatio: "none", "aria-hidden": "true" });
      bar.append(svgEl("rect", { x: 0, y: 0, width: 100, height: 10, rx: 2, class: "hbar-track" }));
      bar.append(svgEl("rect", { x: 0, y: 0, width: (100 * p.Value) / max, height: 10, rx: 2, class: "hbar-type" }));
      row.append(bar);
      row.append(el("span", { class: "num" }, fmtInt(p.Value)));
      row.append(el("span", { class: "num dim" }, fmtBytes(bytes[p.Label] || 0)));
      box.append(row);
    }
  }

  // "1 MB - 10 MB" -> "1–10M", "1 KB - 1 MB" -> "1K–1M", ">= 1 GB" -> "≥1G": short enough
  // for a bar's width.
  function shortSize(label) {
    const text = String(label || "");
    const unit = (u) => u.replace(/B$/, "");
    const range = /^(\d+) ?([KMGT]?B) - (\d+) ?([KMGT]?B)$/.exec(text);
    if (range) {
      const [, a, ua, b, ub] = range;
      return ua === ub ? a + "–" + b + unit(ub) : a + unit(ua) + "–" + b + unit(ub);
    }
    return text.replace(">= ", "≥").replace("< ", "<").replace(/ ?([KMGT])B/, "$1");
  }

  function renderSizes(buckets) {
    const points = buckets.map((b) => ({
      label: shortSize(b.Label),
      value: b.Value || 0,
      title: b.Label + ": " + fmtInt(b.Value) + " files",
    }));
    barChart($("chart-sizes"), points, { format: fmtInt, labelEvery: 1, color: "#7c3aed", valueLabels: true });
  }

  function renderLargest(files) {
    const ol = $("largest");
    ol.replaceChildren();
    if (!files.length) {
      ol.append(el("li", { class: "none" }, "No files yet."));
      return;
    }
    const max = Math.max(1, ...files.map((f) => f.SizeBytes || 0));
    for (const f of files) {
      const li = el("li", { title: f.Path });
      const name = el("span", { class: "fname" }, f.FileName || f.Path);
      const path = el("span", { class: "fpath dim" }, f.Path);
      const size = el("span", { class: "num", "data-value": String(f.SizeBytes || 0) }, f.SizeFormatted || fmtBytes(f.SizeBytes));
      const bar = svgEl("svg", { class: "fbar", viewBox: "0 0 100 4", preserveAspectRatio: "none", "aria-hidden": "true" });
      bar.append(svgEl("rect", { x: 0, y: 0, width: (100 * (f.SizeBytes || 0)) / max, height: 4, rx: 1, class: "fbar-fill" }));
      li.append(name, size, path, bar);
      ol.append(li);
    }
  }

  function renderTransfers(activity) {
    const body = $("transfers");
    body.replaceChildren();
    const rows = ((activity && activity.Data) || []).slice(0, 8);
    if (!rows.length) {
      const tr = el("tr");
      tr.append(el("td", { colspan: "5", class: "none" }, "Nothing has moved yet."));
      body.append(tr);
    }
    for (const t of rows) {
      const tr = el("tr");
      const path = t.direction === 2 ? t.destinationPath : t.sourcePath;
      const name = String(path || "").split(/[\\/]/).pop();
      tr.append(el("td", { title: path || "" }, name));
      tr.append(el("td", {}, t.direction === 2 ? "Download" : "Upload"));
      const status = TRANSFER_STATUS[t.transferStatus] || String(t.transferStatus);
      const td = el("td", { class: "tstatus " + status.toLowerCase() }, status);
      if (t.errorMessage) td.title = t.errorMessage;
      tr.append(td);
      tr.append(el("td", { class: "num" }, t.transferredSizeString || fmtBytes(t.transferredSize)));
      tr.append(el("td", { class: "num dim" }, fmtWhen(t.endDate)));
      body.append(tr);
    }
    const total = (activity && activity.Total) || 0;
    setField("transfersNote", total, "newest first · " + fmtInt(total) + " in the history");
  }

  // Vertical bars, sized to the element: points [{label, value, title}].
  function barChart(svg, points, opts) {
    svg.replaceChildren();
    const width = Math.max(200, Math.round(svg.getBoundingClientRect().width) || 300);
    const height = Math.max(120, Math.round(svg.getBoundingClientRect().height) || 160);
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    const left = 6;
    const right = 6;
    const top = opts.valueLabels ? 18 : 16;
    const bottom = 20;
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    const max = Math.max(0, ...points.map((p) => p.value));
    const n = Math.max(1, points.length);
    const slot = plotW / n;
    const gap = Math.min(6, slot * 0.25);
    // Gridlines at the top and the middle, with the top's value.
    for (const f of [0.5, 1]) {
      const y = top + plotH - plotH * f;
      svg.append(svgEl("line", { x1: left, x2: width - right, y1: y, y2: y, class: "grid-line" }));
    }
    if (max > 0 && !opts.valueLabels) {
      svg.append(svgEl("text", { x: left, y: top - 5, class: "axis" }, opts.format(max)));
    }
    svg.append(svgEl("line", { x1: left, x2: width - right, y1: top + plotH, y2: top + plotH, class: "base-line" }));
    points.forEach((p, i) => {
      const h = max > 0 ? (plotH * p.value) / max : 0;
      const x = left + i * slot + gap / 2;
      const bar = svgEl("rect", {
        x: x.toFixed(1),
        y: (top + plotH - h).toFixed(1),
        width: Math.max(1, slot - gap).toFixed(1),
        height: Math.max(p.value > 0 ? 1.5 : 0, h).toFixed(1),
        rx: Math.min(3, (slot - gap) / 3).toFixed(1),
        fill: opts.color,
        class: "bar",
        "data-value": p.value,
      });
      bar.append(svgEl("title", {}, p.title || p.label + ": " + opts.format(p.value)));
      svg.append(bar);
      if (opts.valueLabels) {
        svg.append(svgEl("text", { x: (x + (slot - gap) / 2).toFixed(1), y: (top + plotH - h - 4).toFixed(1), class: "value", "text-anchor": "middle" }, opts.format(p.value)));
      }
      const every = opts.labelEvery || 1;
      const last = i === points.length - 1;
      if (i % every === 0 || (every > 1 && last && (points.length - 1) % every > every / 2)) {
        // The outer labels of a dense axis end inside the chart.
        let anchor = "middle";
        let at = x + (slot - gap) / 2;
        if (every > 1 && i === 0) {
          anchor = "start";
          at = x;
        } else if (every > 1 && last) {
          anchor = "end";
          at = x + slot - gap;
        }
        svg.append(svgEl("text", { x: at.toFixed(1), y: height - 5, class: "axis", "text-anchor": anchor }, p.label));
      }
    });
    if (max === 0) {
      svg.append(svgEl("text", { x: width / 2, y: top + plotH / 2, class: "axis", "text-anchor": "middle" }, "nothing moved"));
    }
  }

  // ------------------------------------------------------------------ live updates

  function openSockets() {
    state.socketsWanted = true;
    for (const path of ["notification", "statechange"]) connect(path, 0);
  }

  function closeSockets() {
    state.socketsWanted = false;
    for (const s of Object.values(state.sockets)) {
      s.onclose = null;
      s.close(1000);
    }
    state.sockets = {};
    setLive();
  }

  function connect(path, attempt) {
    if (!state.socketsWanted || !state.token) return;
    const url = new URL(path, wsRoot);
    url.searchParams.set("token", state.token);
    let ws;
    try {
      ws = new WebSocket(url.href);
    } catch (_) {
      return;
    }
    state.sockets[path] = ws;
    ws.onopen = () => {
      attempt = 0;
      setLive();
      // Frames may have been missed while it was closed.
      if (state.current && state.lastRefresh) scheduleRefresh();
    };
    ws.onmessage = (m) => onFrame(path, m.data);
    ws.onclose = () => {
      if (state.sockets[path] === ws) delete state.sockets[path];
      setLive();
      if (!state.socketsWanted) return;
      const wait = Math.min(15000, 1000 * Math.pow(2, attempt));
      setTimeout(() => connect(path, attempt + 1), wait);
    };
  }

  function setLive() {
    const open = ["notification", "statechange"].filter(
      (p) => state.sockets[p] && state.sockets[p].readyState === WebSocket.OPEN
    ).length;
    const live = $("live");
    live.dataset.live = open === 2 ? "on" : open ? "partial" : "off";
    live.textContent = open === 2 ? "live" : open ? "reconnecting" : "offline";
  }

  function under(path, root) {
    if (!path || !root) return false;
    const norm = (p) => String(p).replace(/\\/g, "/").replace(/\/+$/, "").toLowerCase();
    const p = norm(path);
    const r = norm(root);
    return p === r || p.startsWith(r + "/");
  }

  function concerns(item, path, storageName) {
    if (!item) return false;
    if (under(path, item.localPath) || under(path, item.permanentLocalPath)) return true;
    return !path && !!storageName && storageName === item.storageName;
  }

  function onFrame(channel, text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (_) {
      return;
    }
    const item = state.current && state.current.item;
    if (channel === "statechange") {
      if (concerns(item, frame.Path, frame.StorageName)) scheduleRefresh();
      return;
    }
    const data = frame.Data || {};
    if (frame.Type === 1) {
      if (concerns(item, data.Path, data.StorageName) || (item && data.StorageName && data.StorageName === item.storageName)) {
        scheduleRefresh();
      }
    } else if (frame.Type === 4) {
      const where = String(data.EndpointAddress || "");
      if (/\/management\/(cloudbackup|clouddrive)/i.test(where)) {
        scheduleLists();
        if (state.current && where.includes(state.current.id)) scheduleRefresh();
      }
    }
  }

  // ------------------------------------------------------------------ start

  function redrawCharts() {
    if (state.reportData && state.current) render(state.reportData);
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(redrawCharts, 150);
  });

  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", onSignIn);
    $("sign-out").addEventListener("click", onSignOut);
    if (state.token) showApp();
    else showSignIn("");
  });
})();
