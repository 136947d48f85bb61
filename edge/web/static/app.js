// The live page: polls /api/latest (4 times a second) and /api/timeline (every 5 s); draws boxes over the MJPEG.
"use strict";
const COLORS = {angry: "#e5484d", disgust: "#8e4ec6", fear: "#f76b15", happy: "#46a758", sad: "#3e63dd",
                surprise: "#ffc53d", neutral: "#8b8d98", bored: "#12a594"};
const $ = (id) => document.getElementById(id);
const view = $("view"), cam = $("cam"), overlay = $("overlay");
const live = window.edgeLive = {results: 0, frame: null, errors: 0};

function bars(probs) {
  const box = document.createElement("div");
  box.className = "bars";
  for (const [label, p] of Object.entries(probs || {})) {
    const row = document.createElement("div");
    row.className = "bar";
    const name = document.createElement("span");
    name.textContent = label;
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = (100 * p).toFixed(1) + "%";
    fill.style.background = COLORS[label] || "#999";
    track.appendChild(fill);
    const pct = document.createElement("span");
    pct.className = "pct";
    pct.textContent = Math.round(100 * p) + "%";
    row.append(name, track, pct);
    box.appendChild(row);
  }
  return box;
}

function faceView(f) {
  const s = f.smoothed || f;
  const card = document.createElement("div");
  card.className = "card face";
  const h = document.createElement("h3");
  const id = f.track_id != null ? "#" + f.track_id + " " : "";
  h.append(id);
  const label = document.createElement("span");
  label.className = "face-label";
  label.textContent = s.emotion;
  h.append(label, " " + Math.round(100 * s.confidence) + "%");
  card.append(h, bars(s.probs || f.probs));
  return card;
}

function drawBoxes(r) {
  const [w, h] = r.frame_size || [640, 480];
  if (overlay.width !== w || overlay.height !== h) { overlay.width = w; overlay.height = h; }
  const g = overlay.getContext("2d");
  g.clearRect(0, 0, w, h);
  if (!r.stream) { g.fillStyle = "#20252b"; g.fillRect(0, 0, w, h); }
  g.lineWidth = Math.max(2, w / 320);
  g.font = `${Math.max(12, Math.round(w / 40))}px system-ui, sans-serif`;
  g.textBaseline = "bottom";
  for (const f of r.faces || []) {
    const [x, y, bw, bh] = f.box;
    const s = f.smoothed || f;
    const color = COLORS[s.emotion] || "#fff";
    g.strokeStyle = color;
    g.strokeRect(x, y, bw, bh);
    const text = (f.track_id != null ? "#" + f.track_id + " " : "") + s.emotion + " " + Math.round(100 * s.confidence) + "%";
    const tw = g.measureText(text).width + 8, th = Math.max(14, Math.round(w / 34));
    const ty = y > th ? y : y + bh + th;
    g.fillStyle = color;
    g.fillRect(x - g.lineWidth / 2, ty - th, tw, th);
    g.fillStyle = "#000";
    g.fillText(text, x + 4, ty - 2);
  }
}

function render(r) {
  live.results += 1;
  live.frame = r.frame;
  $("status").className = "";
  const faces = r.faces || [];
  $("status").textContent = r.frame == null ? "waiting for the first result…"
    : `frame ${r.frame} · ${faces.length} face${faces.length === 1 ? "" : "s"} · result ${(r.age_s || 0).toFixed(1)} s old`;
  if (r.stream && !cam.getAttribute("src")) cam.src = "stream.mjpg";
  view.classList.toggle("privacy", !r.stream);
  cam.hidden = !r.stream;
  $("privacy").hidden = !!r.stream;
  drawBoxes(r);
  const fu = r.fused || {};
  $("fused-emotion").textContent = fu.emotion || "–";
  $("followed").textContent = (fu.track_id != null ? `following #${fu.track_id}` : "")
    + (fu.sources && fu.sources.length ? " · " + fu.sources.join(" + ") : "");
  $("fused-bars").replaceWith(Object.assign(bars(fu.probs), {id: "fused-bars"}));
  const list = $("faces");
  list.replaceChildren(...faces.map(faceView));
  const t = r.timing_ms || {};
  $("stats").textContent = Object.entries(t).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(" · ");
}

async function poll() {
  try {
    const res = await fetch("api/latest", {cache: "no-store"});
    if (!res.ok) throw new Error(res.status + " " + (await res.text()));
    render(await res.json());
    setTimeout(poll, 250);
  } catch (e) {
    live.errors += 1;
    $("status").className = "bad";
    $("status").textContent = "no connection to the device (" + e.message + "), retrying…";
    setTimeout(poll, 1000);
  }
}

function drawTimeline(data) {
  const c = $("timeline"), g = c.getContext("2d");
  c.width = c.clientWidth * (window.devicePixelRatio || 1);
  const w = c.width, h = c.height, pts = data.points || [];
  g.clearRect(0, 0, w, h);
  if (!pts.length) return;
  const end = pts[pts.length - 1][0], span = Math.max(60, end - pts[0][0], 300);
  $("timeline-span").textContent = Math.round(span / 60);
  const step = Math.max(1, w * (data.step_s || 1) / span);
  for (const [ts, emotion, conf] of pts) {
    if (!emotion) continue;
    const x = w - (end - ts) / span * w - step;
    g.fillStyle = COLORS[emotion] || "#999";
    g.fillRect(x, h - conf * h, Math.ceil(step), conf * h);
  }
}

function eventText(e) {
  const a = e.after || {}, b = e.before || {};
  if (e.type === "new") return `#${e.track_id} appeared, ${a.emotion}`;
  if (e.type === "update") return `#${e.track_id} ${b.emotion} → ${a.emotion}`;
  return `#${e.track_id} left after ${Math.round(a.duration_s || 0)} s, last ${a.emotion}`;
}

function listEvents(events) {
  $("events").replaceChildren(...(events || []).slice().reverse().map((e) => {
    const li = document.createElement("li");
    const t = document.createElement("time");
    t.textContent = new Date(e.ts * 1000).toLocaleTimeString();
    li.append(t, eventText(e));
    return li;
  }));
}

async function timeline() {
  try {
    const res = await fetch("api/timeline", {cache: "no-store"});
    if (res.ok) {
      const data = await res.json();
      drawTimeline(data);
      listEvents(data.events);
    }
  } catch (e) { /* the poll loop reports the connection */ }
  setTimeout(timeline, 5000);
}

for (const [label, color] of Object.entries(COLORS)) {
  const item = document.createElement("span");
  const dot = document.createElement("i");
  dot.style.background = color;
  item.append(dot, label);
  $("legend").appendChild(item);
}
poll();
timeline();
