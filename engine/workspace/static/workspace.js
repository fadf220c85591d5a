// The ai-music workspace: one more client of the engine's HTTP API (docs/protocol.md).
// The bearer token travels in a header only; user text is only ever set with textContent.
"use strict";
(() => {
  const cfg = JSON.parse(document.getElementById("workspace-config").textContent);
  const T = cfg.strings;
  const $ = (id) => document.getElementById(id);
  const say = (key, vals = {}) => T[key].replace(/\{(\w+)\}/g, (_, k) => String(vals[k] ?? ""));
  const KEY = "ai-music.workspace";
  const ATTRIBUTION = { "X-Skill-Source": "ai-music-workspace", "X-Skill-Version": "1.0.0", "X-Skill-Platform": "web" };
  const SVG = "http://www.w3.org/2000/svg";
  let auth = load();
  let state = null;
  let busy = false;
  let lastFacts = null;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch { return {}; }
  }
  function save() { localStorage.setItem(KEY, JSON.stringify(auth)); }

  function path(name, vals = {}) {
    const all = { user_id: "me", session_id: auth.session_id, ...vals };
    return cfg.endpoints[name].path.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(all[k]));
  }
  function headers(extra = {}) {
    const out = { ...extra };
    if (auth.token) out.Authorization = "Bearer " + auth.token;
    return out;
  }

  class ApiError extends Error {
    constructor(message, code, status) { super(message); this.code = code; this.status = status; }
  }

  // A protocol endpoint by name, or one of the workspace's own calls by ``url`` and ``method``.
  async function call(name, { vals, body, extra, url, method } = {}) {
    const init = { method: method || cfg.endpoints[name].method, headers: headers(extra) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(url || path(name, vals), init);
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    if (!response.ok || !data || (data.code !== undefined && data.code !== 0) || data.success === false) {
      throw new ApiError((data && data.message) || "HTTP " + response.status, data && data.code, response.status);
    }
    return data.data;
  }

  // ------------------------------------------------------------------ token and project

  async function getToken() {
    if (!auth.client_id) auth.client_id = crypto.randomUUID();
    const data = await call("auth", { extra: { "X-Client-Id": auth.client_id } });
    auth.token = data.token;
    save();
  }
  async function newSession() {
    const data = await call("session", { body: { task_name: "workspace", language: cfg.lang } });
    auth.session_id = data.session_id;
    save();
  }
  async function ready() {
    if (!auth.token) await getToken();
    if (!auth.session_id) await newSession();
  }
  // Recovery as the skill says: an expired token → a new one; a lost session → a new project.
  // (Both can happen in a row: a token from an engine since reset, then its session is gone.)
  async function withRecovery(work) {
    await ready();
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        if (attempt >= 2 || (err.code !== 1001 && err.code !== 1002)) throw err;
        if (err.code === 1001) { auth.token = null; await getToken(); }
        else { auth.session_id = null; await newSession(); }
      }
    }
  }

  async function claimFromLink() {
    const match = location.hash.match(/^#ct=([\w-]+)$/);
    if (!match) return;
    history.replaceState(null, "", location.pathname);  // the claim token leaves the address bar
    try {
      const data = await call("workspace_claim", { url: cfg.claim, method: "POST", body: { claim_token: match[1] } });
      auth.token = data.token;
      auth.session_id = data.session_id;
      save();
      notice(say("claimed"));
    } catch {
      notice(say("claim_failed"));
    }
  }

  function notice(text) { $("notice").textContent = text; }

  function sessionUrl(template) { return template.replace("{session_id}", encodeURIComponent(auth.session_id)); }
  function tracksOf(draft, type) { return ((draft && draft.t) || []).filter((t) => t.tt === type); }

  // A file the engine serves to the owner only: fetched with the token in a header, used from memory.
  async function fetchBlob(url, signal) {
    const response = await fetch(url, { headers: headers(), signal });
    if (!response.ok) {
      let data = null;
      try { data = await response.json(); } catch { data = null; }
      throw new ApiError((data && data.message) || "HTTP " + response.status, data && data.code, response.status);
    }
    return response.blob();
  }

  async function refresh() {
    const data = await withRecovery(() => call("state"));
    state = data.state;
    const facts = await call("fit", { url: sessionUrl(cfg.fit), method: "GET" })
      .catch(() => null);
    $("project").textContent = say("project") + ": " + (data.task_name || "") + " · " + data.session_id;
    $("project").dataset.session = data.session_id;
    showFiles(state.video_infos || []);
    lastFacts = facts;
    drawTimeline(state, facts);
    const draft = state.draft || {};
    $("another").hidden = !tracksOf(draft, 1).length;
    $("preview").hidden = !tracksOf(draft, 0).length || !draft.d;
    loadTimelineMedia(draft);
    refreshCredits();
  }

  // The chat so far, when a page opens a project (a reload, a claim link). The newest reply that linked
  // the fit picture shows it as a fresh reply does: its bare address opens only with the token (401).
  async function showHistory() {
    if (!auth.session_id || $("messages").children.length) return;
    const session = auth.session_id;
    const data = await call("messages", { url: sessionUrl(cfg.messages), method: "GET" });
    // "New project" (or a first reply) while they loaded: these messages belong to another project now
    if (auth.session_id !== session || $("messages").children.length) return;
    let linked = null;
    for (const m of data.messages) {
      const body = addMessage(m.role === "user" ? "user" : "assistant", plain(m.text));
      if (m.role !== "user" && m.text.includes(path("fit_picture", { session_id: session }))) linked = [m.text, body];
    }
    if (linked) showFitPicture(linked[0], linked[1].parentElement, session);  // not awaited, as after a turn
  }

  async function refreshCredits() {
    try {
      const data = await call("credits");
      const el = $("credits");
      el.hidden = data.unlimited || data.available === null || data.available === undefined;
      if (!el.hidden) el.textContent = say("credits", { available: data.available });
    } catch { /* credits are informative only */ }
  }

  function showFiles(infos) {
    const list = $("files");
    list.replaceChildren(...infos.map((info) => {
      const li = document.createElement("li");
      li.textContent = info.filename + (info.duration ? ` (${Number(info.duration).toFixed(1)} s)` : "");
      return li;
    }));
  }

  // ------------------------------------------------------------------ upload

  function upload(files) {
    const status = $("upload-status");
    for (const file of files) {
      const ext = (file.name.split(".").pop() || "").toLowerCase();
      if (!file.name.includes(".") || !cfg.formats.includes(ext)) {
        status.textContent = say("bad_type", { name: file.name, formats: cfg.formats.join(", ") });
        return Promise.resolve();
      }
      if (file.size > cfg.maxUploadBytes) {
        status.textContent = say("too_big", { name: file.name, limit: Math.round(cfg.maxUploadBytes / 1048576) });
        return Promise.resolve();
      }
    }
    const names = files.map((f) => f.name).join(", ");
    const bar = $("upload-progress");
    const send = () => new Promise((resolve, reject) => {
      const form = new FormData();
      for (const file of files) form.append("files", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path("upload"));
      xhr.setRequestHeader("Authorization", "Bearer " + auth.token);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { data = null; }
        if (xhr.status === 200 && data && data.code === 0) resolve(data.data);
        else reject(new ApiError((data && data.message) || "HTTP " + xhr.status, data && data.code, xhr.status));
      };
      xhr.onerror = () => reject(new ApiError("network error", null, 0));
      xhr.send(form);
    });
    bar.hidden = false;
    bar.value = 0;
    status.textContent = say("uploading", { name: names });
    return withRecovery(send).then(() => {
      bar.value = 100;
      status.textContent = say("uploaded", { name: names });
      return refresh();
    }).then(() => count("uploads")).catch((err) => { status.textContent = say("error", { error: err.message }); })
      .finally(() => { bar.hidden = true; });
  }

  // ------------------------------------------------------------------ chat (SSE over fetch)

  function addMessage(kind, text) {
    const li = document.createElement("li");
    li.className = kind;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = kind === "user" ? T.you : T.assistant;
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    li.append(who, body);
    $("messages").append(li);
    li.scrollIntoView({ block: "nearest" });
    return body;
  }

  function plain(text) { return text.replace(/\*\*/g, ""); }

  // The backend's GUI words ("click **Export**") become a real button doing the same call.
  function hintButtons(text, into) {
    if (/\*\*(Export|导出)\*\*/.test(text)) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "hint";
      button.textContent = T.export;
      button.addEventListener("click", () => startExport());
      into.after(button);
    }
  }

  // ------------------------------------------------------------------ the fit picture in the chat
  // "show me how the music fits" is answered with the picture's address, which opens only with the
  // token: the page fetches it with the header and shows it from memory under the reply (a click
  // opens it full size). One picture is live at a time: a newer one replaces it and a new project
  // clears it, its blob URL revoked either way. Each fetch has a number: a newer request (or "New
  // project") aborts the older one, and an older answer that still arrives shows nothing.
  const fitPicture = { url: null, node: null, seq: 0, abort: null };

  function dropFitPicture() {
    if (fitPicture.node) fitPicture.node.remove();
    if (fitPicture.url) URL.revokeObjectURL(fitPicture.url);
    fitPicture.url = fitPicture.node = null;
  }

  function staleFitRequests() {  // every fetch started so far: aborted, and its answer shown nowhere
    if (fitPicture.abort) fitPicture.abort.abort();
    fitPicture.abort = null;
    fitPicture.seq += 1;
  }

  function fitFailed(into, message) {
    const note = document.createElement("span");
    note.className = "fit-failed quiet";
    note.textContent = "\n" + say("fit_failed", { error: message });
    into.append(note);
  }

  async function showFitPicture(reply, into, session) {
    const address = path("fit_picture", { session_id: session });
    if (!session || !reply.includes(address)) return;
    staleFitRequests();
    const seq = fitPicture.seq;
    const abort = (fitPicture.abort = new AbortController());
    const current = () => seq === fitPicture.seq && into.isConnected;
    try {
      const blob = await fetchBlob(address, abort.signal);
      if (!current()) return;  // a newer one was asked for, or the conversation is gone: no URL made
      if (blob.type !== "image/png") throw new Error(T.fit_not_png);
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.className = "fit-picture";
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener";
      link.title = T.fit_open;
      const img = document.createElement("img");
      img.alt = T.fit_alt;
      img.addEventListener("load", () => link.scrollIntoView({ block: "nearest" }), { once: true });  // its height known
      img.addEventListener("error", () => {
        if (fitPicture.node !== link) return;  // replaced or cleared meanwhile
        dropFitPicture();
        fitFailed(into, T.fit_undecodable);
      }, { once: true });
      img.src = url;
      link.append(img);
      dropFitPicture();
      fitPicture.url = url;
      fitPicture.node = link;
      into.append(link);
    } catch (err) {
      if (current()) fitFailed(into, err.message);
    } finally {
      if (fitPicture.abort === abort) fitPicture.abort = null;
      count("pictures");
    }
  }

  async function chat(text) {
    addMessage("user", text);
    const out = addMessage("assistant", "");
    const working = $("working");
    let finals = [];
    let partial = "";
    const show = () => { out.textContent = plain([...finals, partial].filter(Boolean).join("\n")); };
    const open = () => fetch(path("chat"), {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify({ app_name: "nemo_agent", user_id: "me", session_id: auth.session_id,
        new_message: { role: "user", parts: [{ text }] } }),
    }).then(async (response) => {
      if (!response.ok) {
        let data = null;
        try { data = await response.json(); } catch { data = null; }
        throw new ApiError((data && data.message) || "HTTP " + response.status, data && data.code, response.status);
      }
      return response;
    });
    const handle = (block) => {
      const lines = block.split("\n");
      const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).replace(/^ /, "")).join("\n");
      if (!data) {  // a comment: a heartbeat or a stage name
        const stage = lines.map((l) => l.match(/^: stage (\w+)/)).find(Boolean);
        working.textContent = stage && T["stage_" + stage[1]] ? T["stage_" + stage[1]] : T.working;
        working.hidden = false;
        return;
      }
      let event;
      try { event = JSON.parse(data); } catch { return; }
      if (event.error) { out.parentElement.classList.add("error"); finals.push(String(event.error)); show(); return; }
      const parts = (event.content && event.content.parts) || [];
      if (event.content && event.content.role !== "model") return;
      for (const part of parts) {
        if (typeof part.text !== "string") continue;
        if (event.partial) partial += part.text;
        else { finals.push(part.text); partial = ""; }
      }
      show();
    };
    busy = true;
    $("send").disabled = true;
    try {
      const response = await withRecovery(open);
      const session = auth.session_id;  // the project this turn went to (recovery may have made a new one)
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          handle(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
      if (buffer.trim()) handle(buffer);
      hintButtons([...finals, partial].join("\n"), out.parentElement);
      showFitPicture(finals.join("\n"), out.parentElement, session);  // not awaited: Send is free meanwhile
    } catch (err) {
      out.parentElement.classList.add("error");
      out.textContent = say("error", { error: err.message });
    } finally {
      working.hidden = true;
      busy = false;
      $("send").disabled = false;
    }
    await refresh().catch((err) => notice(say("error", { error: err.message })));
    count("turns");
  }

  // Finished uploads and turns, counted on <body> (what tests and assistive tools wait on).
  function count(what) { document.body.dataset[what] = String(Number(document.body.dataset[what] || 0) + 1); }

  // ------------------------------------------------------------------ the timeline ("see the fit")

  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The draft gives clips, titles and the music's facts; the engine's fit facts (cuts and speech
  // on the timeline, the ducking curve) come from /workspace/api/fit, computed as the mix does.
  function drawTimeline(current, facts) {
    const box = $("timeline");
    const draft = current && current.draft;
    if (!draft || !Array.isArray(draft.t) || !draft.d) {
      const p = document.createElement("p");
      p.className = "quiet";
      p.textContent = T.empty;
      box.replaceChildren(p);
      return;
    }
    const duration = draft.d / 1000;
    const W = 960, left = 110, right = 12, laneH = 34, top = 6;
    const lanes = ["video", "titles", "sections", "beats", "speech"];
    const axis = top + lanes.length * laneH + 22;  // the time labels sit just above this line
    const thumbY = axis + 4, thumbH = 40, waveY = thumbY + thumbH + 6, waveH = 40;
    const H = waveY + waveH + 4;
    const x = (s) => left + (Math.max(0, Math.min(duration, s)) / duration) * (W - left - right);
    const y = (lane) => top + lanes.indexOf(lane) * laneH;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": T.timeline, id: "timeline-svg" });
    lanes.forEach((lane) => svg.append(el("text", { x: 4, y: y(lane) + 21, fill: "#cbd5e1", "font-size": 13 },
      T["lane_" + lane])));
    const span = (lane, kind, a, b, colour, label) => {
      const g = el("g", { "data-kind": kind });
      g.append(el("rect", { x: x(a), y: y(lane) + 3, width: Math.max(2, x(b) - x(a)), height: laneH - 8, rx: 4,
        fill: colour, opacity: 0.85 }));
      if (label) {
        g.append(el("title", {}, `${label} (${a.toFixed(2)}–${b.toFixed(2)} s)`));
        g.append(el("text", { x: x(a) + 5, y: y(lane) + 21, "font-size": 12, fill: "#0f172a" }, label.slice(0, 40)));
      }
      svg.append(g);
    };
    const mark = (lane, kind, t, colour, tall) => svg.append(el("line", { "data-kind": kind, x1: x(t), x2: x(t),
      y1: y(lane) + (tall ? 3 : 12), y2: y(lane) + laneH - 5, stroke: colour, "stroke-width": tall ? 2 : 1 }));
    for (const track of draft.t) {
      for (const seg of track.sg || []) {
        const a = (seg.st || 0) / 1000, b = a + (seg.d || 0) / 1000;
        const meta = seg.m || {};
        if (track.tt === 0) {
          span("video", "clip", a, b, "#38bdf8", String(meta.name || (track.m && track.m.name) || ""));
        } else if (track.tt === 7) {
          span("titles", "title", a, b, "#fbbf24", String(meta.text || meta.title || meta.name || ""));
        } else if (track.tt === 1) {
          const music = (track.m && track.m.music && track.m.music.resolved) || {};
          const ss = (seg.ss || 0) / 1000;
          const at = (t) => a + t - ss;
          const colours = ["#a5b4fc", "#86efac", "#fdba74", "#f9a8d4", "#c4b5fd", "#99f6e4"];
          (music.sections || []).forEach(([name, from, to], i) => {
            if (at(to) > a && at(from) < b) span("sections", "section", Math.max(a, at(from)), Math.min(b, at(to)),
              colours[i % colours.length], String(name));
          });
          if (music.bpm > 0) {
            const beat = 60 / music.bpm;
            for (let k = 0, t = a; t < b && k < 4000; k++, t = a + k * beat) mark("beats", k % 4 ? "beat" : "downbeat", t, "#94a3b8", k % 4 === 0);
          }
          for (const t of music.fills || []) mark("beats", "fill", at(t), "#eab308", true);
          for (const t of music.hits || []) mark("sections", "hit", at(t), "#c026d3", true);
        }
      }
    }
    const fit = facts || { cuts: [], speech: [], duck: [] };
    for (const [from, to] of fit.speech) span("speech", "speech", from, to, "#15803d");
    // the music's gain in the speech lane: top = full level, bottom = the deepest duck
    const low = Math.min(-1, ...fit.duck.flat().map((p) => p[1]));
    for (const curve of fit.duck) {
      const points = curve.map(([t, db]) => `${x(t).toFixed(1)},${(y("speech") + 4 + (db / low) * (laneH - 10)).toFixed(1)}`);
      svg.append(el("polyline", { "data-kind": "duck", points: points.join(" "), fill: "none", stroke: "#f8fafc",
        "stroke-width": 1.5, "stroke-dasharray": "4 2" }));
    }
    for (const t of fit.cuts) svg.append(el("line", { "data-kind": "cut", x1: x(t), x2: x(t), y1: top,
      y2: axis - 20, stroke: "#ef4444", "stroke-width": 2 }));
    for (let k = 0; k <= 5; k++) {
      const t = (duration * k) / 5;
      svg.append(el("text", { x: x(t) - (k === 5 ? 24 : 0), y: axis - 4, fill: "#64748b", "font-size": 11 }, `${t.toFixed(1)}s`));
    }
    // under the axis: the picture (a strip of frames, one per slice of the timeline) and the new soundtrack
    svg.append(el("text", { x: 4, y: thumbY + 25, fill: "#cbd5e1", "font-size": 13 }, T.lane_thumbs));
    svg.append(el("text", { x: 4, y: waveY + 25, fill: "#cbd5e1", "font-size": 13 }, T.lane_wave));
    if (media.thumbsUrl && media.thumbsKey === videoKey(draft)) {
      svg.append(el("image", { "data-kind": "thumbs", href: media.thumbsUrl, x: left, y: thumbY, width: W - left - right,
        height: thumbH, preserveAspectRatio: "none" }));
    }
    if (media.wave && media.waveKey === audioKey(draft)) {
      const peaks = media.wave.peaks, n = peaks.length, mid = waveY + waveH / 2;
      const d = peaks.map((p, i) => {
        const px = (left + ((i + 0.5) / n) * (W - left - right)).toFixed(1), h = Math.max(0.5, (p * waveH) / 2);
        return `M${px} ${(mid - h).toFixed(1)}V${(mid + h).toFixed(1)}`;
      }).join("");
      svg.append(el("path", { "data-kind": "waveform", d, stroke: "#a5b4fc", "stroke-width": 1 }));
    }
    box.replaceChildren(svg);
  }

  // What the strip and the waveform depend on: the picture's clips; everything that sounds.
  function videoKey(draft) { return JSON.stringify([draft.d, tracksOf(draft, 0).map((t) => t.sg)]); }
  function audioKey(draft) { return JSON.stringify([draft.d, ((draft && draft.t) || []).filter((t) => t.tt !== 7)]); }

  const media = { thumbsKey: null, thumbsUrl: null, thumbsPending: null, wave: null, waveKey: null, wavePending: null };

  // Fetch what changed (the engine caches both; the soundtrack may still be mixing), then redraw.
  function loadTimelineMedia(draft) {
    if (!draft || !draft.d) return;
    const vk = videoKey(draft), ak = audioKey(draft);
    const redraw = () => { if (state && state.draft) drawTimeline(state, lastFacts); };
    if (tracksOf(draft, 0).length && vk !== media.thumbsKey && vk !== media.thumbsPending) {
      media.thumbsPending = vk;
      fetchBlob(sessionUrl(cfg.thumbs)).then((blob) => {
        if (media.thumbsUrl) URL.revokeObjectURL(media.thumbsUrl);
        media.thumbsUrl = URL.createObjectURL(blob);
        media.thumbsKey = vk;
      }).catch(() => {}).finally(() => { if (media.thumbsPending === vk) media.thumbsPending = null; redraw(); });
    }
    if (ak !== media.waveKey && ak !== media.wavePending) {
      media.wavePending = ak;
      call("waveform", { url: sessionUrl(cfg.waveform) + "?columns=600", method: "GET" }).then((data) => {
        media.wave = data;
        media.waveKey = ak;
      }).catch(() => {}).finally(() => { if (media.wavePending === ak) media.wavePending = null; redraw(); });
    }
  }

  // ------------------------------------------------------------------ preview (before exporting)
  // The new soundtrack (the engine's prepared mix, what the export carries) is the clock; the
  // uploads play in step under it, clip by clip as the video track orders them, with the titles
  // laid over as text. A/B flips which one is heard: the new soundtrack or the clips' own sound.

  const preview = { key: null, audioUrl: null, videos: {}, playing: false, hearing: "new" };

  function videoSegments() {
    return tracksOf(state && state.draft, 0).flatMap((t) => t.sg || []).map((s) => ({ src: s.src,
      st: (s.st || 0) / 1000, d: (s.d || 0) / 1000, ss: (s.ss || 0) / 1000 })).sort((a, b) => a.st - b.st);
  }

  async function loadPreview() {
    const key = audioKey(state.draft);
    if (preview.key !== key) {
      const blob = await fetchBlob(sessionUrl(cfg.soundtrack));
      if (preview.audioUrl) URL.revokeObjectURL(preview.audioUrl);
      preview.audioUrl = URL.createObjectURL(blob);
      $("preview-audio").src = preview.audioUrl;
      preview.key = key;
    }
    const used = new Set(videoSegments().map((seg) => seg.src));
    for (const [src, url] of Object.entries(preview.videos)) {  // a clip gone from the draft: free its copy
      if (used.has(src)) continue;
      if ($("preview-video").dataset.src === src) {
        $("preview-video").removeAttribute("src");
        delete $("preview-video").dataset.src;
      }
      URL.revokeObjectURL(url);
      delete preview.videos[src];
    }
    for (const seg of videoSegments()) {
      if (preview.videos[seg.src] || !(state.video_infos || []).some((i) => i.file_id === seg.src)) continue;
      preview.videos[seg.src] = URL.createObjectURL(await fetchBlob(path("media", { file_id: seg.src })));
    }
  }

  function hear(which) {
    preview.hearing = which;
    const ab = $("ab");
    ab.dataset.hearing = which;
    ab.setAttribute("aria-pressed", String(which === "original"));
    ab.textContent = which === "new" ? T.hear_new : T.hear_original;
    $("preview-audio").muted = which === "original";
    $("preview-video").muted = which === "new";
  }

  function syncPreview() {
    const audio = $("preview-audio"), video = $("preview-video");
    const t = audio.currentTime;
    const seg = videoSegments().find((s) => s.st <= t && t < s.st + s.d);
    const url = seg && preview.videos[seg.src];
    if (!url) {
      video.pause();
    } else {
      if (video.dataset.src !== seg.src) { video.src = url; video.dataset.src = seg.src; }
      const want = seg.ss + t - seg.st;
      if (!video.seeking && Math.abs(video.currentTime - want) > 0.25) video.currentTime = want;
      if (!audio.paused && video.paused) video.play().catch(() => {});
      if (audio.paused && !video.paused) video.pause();
    }
    const title = tracksOf(state && state.draft, 7).flatMap((tr) => tr.sg || [])
      .find((s) => (s.st || 0) / 1000 <= t && t < ((s.st || 0) + (s.d || 0)) / 1000);
    const meta = (title && title.m) || {};
    $("preview-title").textContent = title ? String(meta.text || meta.title || meta.name || "") : "";
  }

  function previewLoop() {
    syncPreview();
    if (preview.playing) requestAnimationFrame(previewLoop);
  }

  async function togglePreview() {
    const audio = $("preview-audio"), button = $("preview-play"), status = $("preview-status");
    if (preview.playing) { audio.pause(); return; }
    status.textContent = T.preview_loading;
    try {
      await loadPreview();
      if (audio.ended || audio.currentTime >= (audio.duration || Infinity) - 0.05) audio.currentTime = 0;
      hear(preview.hearing);
      $("preview").dataset.started = "1";  // the picture's stage shows from the first play on
      await audio.play();
      status.textContent = "";
      preview.playing = true;
      button.textContent = T.pause;
      previewLoop();
    } catch (err) {
      status.textContent = say("preview_failed", { error: err.message });
    }
  }

  function stopPreview() {
    preview.playing = false;
    $("preview-video").pause();
    $("preview-play").textContent = T.preview;
    syncPreview();
  }

  function resetPreview() {
    $("preview-audio").pause();
    for (const url of [preview.audioUrl, ...Object.values(preview.videos)]) if (url) URL.revokeObjectURL(url);
    preview.key = preview.audioUrl = null;
    preview.videos = {};
    $("preview-audio").removeAttribute("src");
    $("preview-video").removeAttribute("src");
    delete $("preview").dataset.started;
    delete $("preview-video").dataset.src;
  }

  // ------------------------------------------------------------------ export

  let exporting = null;

  async function startExport() {
    if (exporting) return;
    const format = $("export-format").value;
    const bar = $("export-progress"), status = $("export-status"), cancel = $("cancel"), link = $("download");
    const id = "ws_" + crypto.randomUUID().replace(/-/g, "").slice(0, 20);
    exporting = { id, cancelled: false };
    link.hidden = true;
    bar.hidden = false;
    bar.value = 0;
    cancel.hidden = false;
    $("export").disabled = true;
    status.textContent = say("exporting", { progress: 0 });
    try {
      await refresh();
      await withRecovery(() => call("render", { extra: ATTRIBUTION, body: { id, sessionId: auth.session_id,
        draft: state.draft, output: { format, quality: "high" } } }));
      let job;
      for (;;) {
        job = await call("poll", { vals: { render_id: id } });
        bar.value = job.progress || 0;
        status.textContent = say("exporting", { progress: Math.round(job.progress || 0) });
        if (["completed", "failed", "cancelled"].includes(job.status)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      if (job.status === "completed") await fetchOutput(id, format);
      else if (job.status === "cancelled") status.textContent = T.cancelled;
      else status.textContent = say("failed", { error: job.error || job.status });
    } catch (err) {
      status.textContent = say("failed", { error: err.message });
    } finally {
      exporting = null;
      bar.hidden = true;
      cancel.hidden = true;
      $("export").disabled = false;
    }
  }

  // The file comes with the token in a header and plays from memory: no token in any URL.
  async function fetchOutput(id, format) {
    const response = await fetch(path("download", { render_id: id }), { headers: headers() });
    if (!response.ok) throw new ApiError("HTTP " + response.status, null, response.status);
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const player = $("player");
    const old = player.querySelector("video,audio");
    if (old && old.src.startsWith("blob:")) URL.revokeObjectURL(old.src);
    const kind = blob.type.startsWith("video/") ? "video" : blob.type.startsWith("audio/") ? "audio" : null;
    if (kind) {
      const media = document.createElement(kind);
      media.controls = true;
      media.preload = "metadata";
      media.src = url;
      media.id = "result";
      player.replaceChildren(media);
    } else {
      player.replaceChildren();
    }
    const ext = { mp4: "mp4", wav: "wav", mp3: "mp3", stems: "zip" }[format] || "bin";
    const link = $("download");
    link.href = url;
    link.download = `ai-music-${id}.${ext}`;
    link.hidden = false;
    $("export-status").textContent = T.exported;
  }

  async function cancelExport() {
    if (!exporting) return;
    try { await call("cancel", { vals: { render_id: exporting.id } }); } catch { /* the poll reports the end */ }
  }

  // ------------------------------------------------------------------ wiring

  function wire() {
    $("file").addEventListener("change", (e) => { const files = [...e.target.files]; if (files.length) upload(files); e.target.value = ""; });
    const drop = $("drop");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      const files = [...e.dataTransfer.files];
      if (files.length) upload(files);
    });
    $("chat-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const text = $("message").value.trim();
      if (!text || busy) return;
      $("message").value = "";
      chat(text);
    });
    $("export-form").addEventListener("submit", (e) => { e.preventDefault(); startExport(); });
    $("cancel").addEventListener("click", cancelExport);
    $("another").addEventListener("click", () => { if (!busy) chat(T.another_message); });
    $("preview-play").addEventListener("click", togglePreview);
    $("ab").addEventListener("click", () => hear(preview.hearing === "new" ? "original" : "new"));
    const audio = $("preview-audio");
    audio.addEventListener("pause", stopPreview);
    audio.addEventListener("ended", () => { stopPreview(); count("previews"); });
    audio.addEventListener("timeupdate", syncPreview);
    $("new-project").addEventListener("click", async () => {
      auth.session_id = null;
      staleFitRequests();
      dropFitPicture();
      $("messages").replaceChildren();
      $("player").replaceChildren();
      $("download").hidden = true;
      resetPreview();
      await ready().catch(() => {});
      await refresh().catch((err) => notice(say("error", { error: err.message })));
    });
  }

  wire();
  claimFromLink()
    .then(refresh)
    .then(() => showHistory().catch(() => {}))
    .catch((err) => notice(say("error", { error: err.message })))
    .finally(() => { document.body.dataset.ready = "1"; });
})();
