// The operator's console: every figure comes from the API, asked with the signed-in principal's credential (kept in
// this tab's sessionStorage only), and every change goes through the API's own routes, which validate and refuse.
"use strict";

const CREDENTIAL_KEY = "ytempire.credential";
const ROLES = ["viewer", "operator", "admin"];
const REFRESH_MS = 5000;
const MAX_STREAMS = 20; // status streams open at once (the server allows a principal YTEMPIRE_WEBSOCKETS_PER_PRINCIPAL)

const state = {
  credential: null, who: null, streams: new Map(), live: new Map(), timer: null, fields: null,
  shownVideo: null, shownFinal: true, // the video whose page is open, and whether it has stopped changing
};
const $ = (id) => document.getElementById(id);

function notice(text, kind = "info") {
  const box = $("notice");
  box.textContent = text;
  box.dataset.kind = kind;
}

async function api(path, options = {}, retried = false) {
  const {method = "GET", body, form, headers: extra = {}} = options;
  const headers = {...extra};
  if (state.credential) headers.Authorization = "Bearer " + state.credential.bearer;
  let payload;
  if (form) {
    payload = new URLSearchParams(form);
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, {method, headers, body: payload, credentials: "same-origin"});
  } catch (error) {
    return {ok: false, status: 0, data: {detail: "the API did not answer: " + error.message}};
  }
  if (response.status === 401 && !retried && path !== "/auth/token") {
    if (await renewed()) return api(path, options, true);
    if (state.who) signedOut("The sign-in has expired: sign in again.");
  }
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : null;
  return {ok: response.ok, status: response.status, data, headers: response.headers};
}

// A password sign-in's access token lives minutes (YTEMPIRE_ACCESS_TOKEN_MINUTES): when the API refuses it, its
// refresh token (each used once) gets the next pair, and the session cookie the player reads is renewed with it.
let renewal = null;

function renewed() {
  if (!state.credential || !state.credential.refresh) return Promise.resolve(false);
  renewal = renewal || (async () => {
    const token = await fetch("/auth/token", {
      method: "POST",
      body: new URLSearchParams({grant_type: "refresh_token", refresh_token: state.credential.refresh}),
    });
    if (!token.ok) return false;
    const pair = await token.json();
    state.credential = {bearer: pair.access_token, refresh: pair.refresh_token};
    sessionStorage.setItem(CREDENTIAL_KEY, JSON.stringify(state.credential));
    await fetch("/auth/session", {
      method: "POST", headers: {Authorization: "Bearer " + pair.access_token}, credentials: "same-origin",
    });
    return true;
  })().finally(() => { renewal = null; });
  return renewal;
}

function errorText(result) {
  const detail = result.data && result.data.detail;
  if (Array.isArray(detail)) return detail.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
  if (typeof detail === "string") return detail;
  return `HTTP ${result.status}`;
}

function may(role) {
  return state.who !== null && ROLES.indexOf(state.who.role) >= ROLES.indexOf(role);
}

// --- signing in and out -------------------------------------------------------------------------------------------

async function openSession(credential) {
  state.credential = credential;
  const session = await api("/auth/session", {method: "POST"});
  if (!session.ok) {
    state.credential = null;
    return session;
  }
  sessionStorage.setItem(CREDENTIAL_KEY, JSON.stringify(state.credential));
  signedIn(session.data.who);
  return session;
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  const key = form["api-key"].value.trim();
  let credential = {bearer: key, refresh: null};
  if (!key) {
    const token = await api("/auth/token", {
      method: "POST",
      form: {grant_type: "password", username: form.username.value, password: form.password.value},
    });
    if (!token.ok) {
      notice("Not signed in: " + errorText(token), "error");
      return;
    }
    credential = {bearer: token.data.access_token, refresh: token.data.refresh_token};
  }
  const session = await openSession(credential);
  if (!session.ok) {
    notice("Not signed in: " + errorText(session), "error");
    return;
  }
  form.reset();
  notice(`Signed in as ${state.who.name} (${state.who.role}).`);
}

function signedIn(who) {
  state.who = who;
  $("who-name").textContent = `${who.name} · ${who.role}`;
  $("who").hidden = false;
  $("nav").hidden = false;
  for (const element of document.querySelectorAll("[data-needs]")) element.hidden = !may(element.dataset.needs);
  show(location.hash.slice(1) || "queue");
  refreshSoon(0);
}

function signedOut(message) {
  state.who = null;
  state.credential = null;
  sessionStorage.removeItem(CREDENTIAL_KEY);
  clearTimeout(state.timer);
  for (const stream of state.streams.values()) if (stream) stream.close();
  state.streams.clear();
  $("who").hidden = true;
  $("nav").hidden = true;
  show("sign-in");
  if (message) notice(message, "error");
}

async function signOut() {
  await fetch("/auth/session", {method: "DELETE", credentials: "same-origin"});
  signedOut();
  notice("Signed out.");
}

// --- views --------------------------------------------------------------------------------------------------------

function show(route) {
  let [view, arg] = route.split("/");
  if (!state.who) view = "sign-in";
  if (view === "new" && !may("operator")) view = "queue";
  if (view === "video" && !arg) view = "queue";
  if (!["sign-in", "queue", "new", "video", "costs"].includes(view)) view = "queue";
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== "view-" + view;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (view === "new") buildNewVideoForm();
  if (view === "video") showVideo(arg);
  if (view === "costs") showCosts();
}

// --- the queue ----------------------------------------------------------------------------------------------------

function refreshSoon(ms = REFRESH_MS) {
  clearTimeout(state.timer);
  state.timer = setTimeout(refreshQueue, ms);
}

async function refreshQueue() {
  if (!state.who) return;
  const lists = {
    active: "status=queued&status=processing&limit=100",
    halted: "status=halted&limit=100",
    failed: "status=failed&limit=20",
    done: "status=completed&limit=10",
  };
  const answers = await Promise.all(Object.values(lists).map((query) => api("/pipeline/videos?" + query)));
  if (!state.who) return;
  const refused = answers.find((r) => !r.ok);
  if (refused) {
    notice("The queue could not be read: " + errorText(refused), "error");
  } else {
    Object.keys(lists).forEach((name, i) => renderList(name, answers[i].data.videos));
    followActive(answers[0].data.videos);
  }
  const [view, videoId] = location.hash.slice(1).split("/");
  if (view === "video" && videoId && state.shownVideo === videoId && !state.shownFinal) showVideo(videoId);
  refreshSoon();
}

function renderList(name, videos) {
  const list = $(name);
  const rows = new Map([...list.children].map((row) => [row.dataset.videoId, row]));
  let previous = null;
  for (const video of videos) {
    let row = rows.get(video.video_id);
    rows.delete(video.video_id);
    if (!row) row = newRow(video);
    fillRow(row, video);
    const next = previous ? previous.nextSibling : list.firstChild;
    if (next !== row) list.insertBefore(row, next);
    previous = row;
  }
  for (const gone of rows.values()) gone.remove();
  $(name + "-empty").hidden = videos.length > 0;
}

// What a video is called on the page: its topic, or (a request made without one, by an older client) its id.
function named(video) {
  return video.topic || `video ${video.video_id.slice(0, 8)}`;
}

function newRow(video) {
  const row = $("video-row").content.firstElementChild.cloneNode(true);
  row.dataset.videoId = video.video_id;
  row.querySelector("progress").setAttribute("aria-label", `Progress of ${named(video)}`);
  return row;
}

function fillRow(row, video) {
  row.dataset.status = video.status;
  let link = row.querySelector(".topic a");
  if (!link) { // made once per row: a link replaced on each refresh would take the keyboard's focus with it
    link = document.createElement("a");
    link.href = `#video/${video.video_id}`;
    row.querySelector(".topic").append(link);
  }
  link.textContent = named(video);
  row.querySelector(".meta").textContent =
    `channel ${video.channel_id.slice(0, 8)} · priority ${video.priority} · ${video.complexity} · ` +
    `$${video.cost_usd.toFixed(2)}`;
  const badge = row.querySelector(".badge");
  badge.textContent = video.stage && video.status !== "failed" ? `${video.status}: ${video.stage}` : video.status;
  const live = state.live.get(video.video_id);
  showProgress(row, live || {progress: video.status === "queued" ? 0 : null, position: null, eta: null});
  const reason = row.querySelector(".reason");
  if (video.status === "failed" && video.failure) {
    const where = video.failure.stage ? ` in ${video.failure.stage}` : "";
    const hint = video.failure.retry_worthwhile ? "" : " (a retry would fail the same way)";
    reason.textContent = `${video.failure.type}${where}: ${video.failure.message}${hint}`;
  } else if (video.status === "failed") {
    reason.textContent = video.last_error_type || "";
  } else if (video.status === "halted") {
    reason.textContent = (live && live.halted_reason) || "waiting for a budget approval";
    if (!live) loadHaltedReason(video.video_id);
  } else {
    reason.textContent = "";
  }
  fillActions(row, video);
}

function showProgress(row, live) {
  const bar = row.querySelector("progress");
  const figures = [];
  if (live.progress === null || live.progress === undefined) {
    bar.removeAttribute("value");
  } else {
    bar.value = live.progress;
    figures.push(`${Math.round(live.progress)} %`);
  }
  if (live.position && live.status === "queued") figures.push(`#${live.position} in line`);
  if (live.eta !== null && live.eta !== undefined) figures.push(`ETA ${duration(live.eta)}`);
  row.querySelector(".figures").textContent = figures.join(" · ");
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

async function loadHaltedReason(videoId) {
  const status = await api(`/pipeline/status/${videoId}`);
  if (!status.ok) return;
  state.live.set(videoId, status.data);
  const row = document.querySelector(`li[data-video-id="${videoId}"]`);
  if (row) row.querySelector(".reason").textContent = status.data.halted_reason || "waiting for a budget approval";
}

function fillActions(row, video) {
  const box = row.querySelector(".actions");
  const wanted = [];
  if (may("operator")) {
    if (video.status === "halted") wanted.push(["approve", "Approve budget"]);
    if (video.status === "failed") wanted.push(["retry", "Retry"]);
    if (["queued", "processing", "halted"].includes(video.status)) wanted.push(["cancel", "Cancel"]);
  }
  const have = [...box.children].map((b) => b.dataset.action).join();
  if (have === wanted.map(([action]) => action).join()) return; // keep focus on a button that stays
  box.replaceChildren(
    ...wanted.map(([action, label]) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.action = action;
      button.textContent = label;
      button.setAttribute("aria-label", `${label}: ${named(video)}`);
      button.addEventListener("click", () => act(action, row.dataset.videoId, named(video)));
      return button;
    }),
  );
}

async function act(action, videoId, topic) {
  if (action === "approve") return openApprove(videoId, topic);
  if (action === "cancel" && !confirm(`Cancel “${topic}”? Costs so far are kept.`)) return;
  const result = await api(`/pipeline/${action}/${videoId}`, {method: "POST"});
  if (!result.ok) {
    notice(`Could not ${action} “${topic}”: ${errorText(result)}`, "error");
    return;
  }
  notice(
    action === "retry"
      ? `Retrying “${topic}” (attempt ${result.data.attempt}) from ${result.data.resume_from || "the start"}.`
      : `Cancelling “${topic}”.`,
  );
  state.live.delete(videoId);
  refreshSoon(0);
}

// Live status of waiting and running videos: one status stream each (a ticket opens it: a browser's WebSocket
// cannot send a credential), up to MAX_STREAMS at once; the list itself is read again every few seconds.
function followActive(videos) {
  const wanted = new Set(videos.slice(0, MAX_STREAMS).map((v) => v.video_id));
  for (const [videoId, stream] of state.streams) {
    if (!wanted.has(videoId)) {
      if (stream) stream.close();
      state.streams.delete(videoId);
    }
  }
  for (const videoId of wanted) if (!state.streams.has(videoId)) openStream(videoId);
}

async function openStream(videoId) {
  state.streams.set(videoId, null);
  const ticket = await api("/auth/stream-ticket", {method: "POST"});
  if (!ticket.ok || !state.streams.has(videoId)) {
    state.streams.delete(videoId);
    return;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/pipeline/stream/${videoId}?ticket=${encodeURIComponent(ticket.data.ticket)}`;
  const stream = new WebSocket(url);
  state.streams.set(videoId, stream);
  stream.addEventListener("message", (message) => {
    const status = JSON.parse(message.data);
    state.live.set(videoId, status);
    const row = document.querySelector(`#active li[data-video-id="${videoId}"]`);
    if (row) {
      showProgress(row, status);
      const badge = row.querySelector(".badge");
      badge.textContent = status.stage ? `${status.status}: ${status.stage}` : status.status;
    }
    if (status.final || status.status === "halted") refreshSoon(0);
  });
  stream.addEventListener("close", () => {
    if (state.streams.get(videoId) === stream) state.streams.delete(videoId);
  });
}

// --- one video: its stages, cost against the cap, the player, its YouTube metadata ------------------------------

async function showVideo(videoId) {
  const status = await api(`/pipeline/status/${videoId}`);
  if (!status.ok) {
    notice("The video could not be read: " + errorText(status), "error");
    return;
  }
  const video = status.data;
  state.shownVideo = videoId;
  state.shownFinal = ["completed", "failed", "cancelled"].includes(video.status); // else the queue's refresh redraws it
  $("video-title").textContent = `${named(video)} (${video.status})`;
  const facts = [`id ${video.video_id}`, `attempt ${video.attempts}`, `created ${new Date(video.created_at).toLocaleString()}`];
  if (video.processing_time_seconds !== null) facts.push(`made in ${duration(video.processing_time_seconds)}`);
  $("video-facts").textContent = facts.join(" · ");

  const costs = new Map();
  for (const cost of video.costs) costs.set(cost.stage, (costs.get(cost.stage) || 0) + cost.amount_usd);
  const rows = video.stages.map((run) => {
    const row = document.createElement("tr");
    row.dataset.outcome = run.outcome;
    const outcome = run.outcome === "failed" ? `failed: ${run.error_type}${run.final ? "" : " (retried)"}` : "finished";
    const took = run.duration_seconds === null ? "" : `${run.duration_seconds.toFixed(1)} s`;
    const cost = run.outcome === "finished" ? `$${(costs.get(run.stage) || 0).toFixed(4)}` : "";
    for (const text of [run.stage, outcome, took, cost]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  });
  $("video-stages").replaceChildren(...rows);
  const meter = $("video-cap");
  meter.max = video.cost_cap_usd;
  meter.value = Math.min(video.cost_usd, video.cost_cap_usd);
  meter.high = video.cost_cap_usd * 0.8;
  $("video-cost").textContent = `$${video.cost_usd.toFixed(4)} of $${video.cost_cap_usd.toFixed(2)}`;
  const temporal = $("video-temporal");
  temporal.href = video.temporal_ui;

  const finished = video.status === "completed";
  $("video-player-box").hidden = !finished;
  $("video-youtube-box").hidden = true;
  const player = $("video-player");
  if (finished) {
    const files = `/pipeline/videos/${videoId}/files`;
    if (!player.src.endsWith(`${files}/video.mp4`)) {
      player.poster = `${files}/thumbnail.jpg`;
      player.src = `${files}/video.mp4`;
    }
    const metadata = await api(`${files}/metadata.json`);
    if (metadata.ok && metadata.data.youtube) showYouTube(metadata.data.youtube);
  } else {
    player.removeAttribute("src");
  }
}

function showYouTube(body) {
  const snippet = body.snippet || {};
  const entries = [
    ["Title", snippet.title],
    ["Description", snippet.description],
    ["Tags", (snippet.tags || []).join(", ")],
    ["Privacy", body.status && body.status.privacyStatus],
  ].filter(([, value]) => value);
  $("video-youtube").replaceChildren(
    ...entries.flatMap(([term, value]) => {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value;
      return [dt, dd];
    }),
  );
  $("video-youtube-box").hidden = entries.length === 0;
}

// --- costs and performance, drawn from GET /analytics ---------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

async function showCosts() {
  const days = Number($("costs-days").value);
  const until = new Date();
  const since = new Date(until.getTime() - days * 86400000);
  const window = `since=${encodeURIComponent(since.toISOString())}&until=${encodeURIComponent(until.toISOString())}`;
  const [byDay, byService, byChannel, channels] = await Promise.all([
    api(`/analytics/costs?group_by=day&${window}`),
    api(`/analytics/costs?group_by=service&${window}`),
    api(`/analytics/costs?group_by=channel&${window}`),
    api(`/analytics/channels?granularity=day&${window}`),
  ]);
  const refused = [byDay, byService, byChannel, channels].find((r) => !r.ok);
  if (refused) {
    notice("The figures could not be read: " + errorText(refused), "error");
    return;
  }
  const usd = (v) => `$${v.toFixed(2)}`;
  barChart("chart-day", byDay.data.rows.map((r) => [r.key, r.cost_usd]), usd, "Day", "Spend");
  barChart("chart-service", byService.data.rows.map((r) => [r.key, r.cost_usd]), usd, "Service", "Spend");
  barChart("chart-channel", byChannel.data.rows.map((r) => [r.key.slice(0, 8), r.cost_usd]), usd, "Channel", "Spend");
  marginChart("chart-margin", channels.data.channels);
}

// Horizontal bars, one per row, labelled with their values; the same figures as a table for screen readers.
function barChart(id, rows, format, keyName, valueName) {
  const figure = $(id);
  const caption = figure.querySelector("figcaption");
  const most = Math.max(0, ...rows.map(([, v]) => Math.abs(v)));
  const height = 22;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 360 ${Math.max(1, rows.length) * height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", rows.length
    ? `${caption.textContent}: ` + rows.map(([k, v]) => `${k} ${format(v)}`).join(", ")
    : `${caption.textContent}: nothing in this window`);
  rows.forEach(([key, value], i) => {
    const y = i * height;
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", "0");
    label.setAttribute("y", String(y + 15));
    label.textContent = key;
    const bar = document.createElementNS(SVG, "rect");
    bar.setAttribute("x", "110");
    bar.setAttribute("y", String(y + 4));
    bar.setAttribute("height", "14");
    bar.setAttribute("width", String(most ? Math.max(1, (Math.abs(value) / most) * 180) : 0));
    bar.setAttribute("class", value < 0 ? "bar negative" : "bar");
    const figureText = document.createElementNS(SVG, "text");
    figureText.setAttribute("x", "356");
    figureText.setAttribute("y", String(y + 15));
    figureText.setAttribute("text-anchor", "end");
    figureText.textContent = format(value);
    svg.append(label, bar, figureText);
  });
  figure.replaceChildren(caption, svg, dataTable(caption.textContent, [keyName, valueName],
                                                   rows.map(([k, v]) => [k, format(v)])));
}

function marginChart(id, channels) {
  const usd = (v) => (v === null || v === undefined ? "n/a" : `$${v.toFixed(2)}`);
  barChart(id, channels.map((c) => [c.channel_id.slice(0, 8), c.margin_usd]), usd, "Channel", "Margin");
  const figure = $(id);
  const table = dataTable(figure.querySelector("figcaption").textContent,
    ["Channel", "Views", "Revenue", "Cost", "Margin"],
    channels.map((c) => [c.channel_id.slice(0, 8), String(c.views), usd(c.revenue_usd), usd(c.cost_usd),
                         usd(c.margin_usd)]));
  figure.replaceChild(table, figure.querySelector("details"));
}

function dataTable(title, head, rows) {
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = `${title} as a table`;
  const table = document.createElement("table");
  table.className = "data";
  const headRow = document.createElement("tr");
  for (const text of head) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = text;
    headRow.append(th);
  }
  table.createTHead().append(headRow);
  const body = table.createTBody();
  for (const cells of rows) {
    const row = body.insertRow();
    for (const text of cells) row.insertCell().textContent = text;
  }
  details.append(summary, table);
  return details;
}

// --- approving a halted video -------------------------------------------------------------------------------------

function openApprove(videoId, topic) {
  const dialog = $("approve-dialog");
  const form = $("approve-form");
  form.reset();
  form.dataset.videoId = videoId;
  const live = state.live.get(videoId);
  $("approve-what").textContent = live
    ? `“${topic}” has spent $${live.cost_usd.toFixed(2)} of its $${live.cost_cap_usd.toFixed(2)} cap.`
    : `“${topic}”`;
  for (const id of ["approve-cap-error", "approve-reason-error"]) $(id).textContent = "";
  dialog.showModal();
  $("approve-cap").focus();
}

async function submitApprove(event) {
  event.preventDefault();
  const form = event.target;
  const body = {new_cap_usd: Number(form.new_cap_usd.value), reason: form.reason.value};
  const result = await api(`/pipeline/approve/${form.dataset.videoId}`, {method: "POST", body});
  for (const id of ["approve-cap-error", "approve-reason-error"]) $(id).textContent = "";
  if (result.ok) {
    $("approve-dialog").close();
    notice(`Approved: the cap is now $${result.data.cap_usd.toFixed(2)}; the video continues.`);
    state.live.delete(form.dataset.videoId);
    refreshSoon(0);
    return;
  }
  if (result.status === 422 && Array.isArray(result.data.detail)) {
    for (const error of result.data.detail) {
      const field = (error.loc || [])[1];
      const box = $(field === "reason" ? "approve-reason-error" : "approve-cap-error");
      box.textContent = error.msg;
    }
    return;
  }
  $("approve-cap-error").textContent = errorText(result);
}

// --- a new video, its fields read from the API's own schema ---------------------------------------------------------

async function buildNewVideoForm() {
  if (state.fields) return;
  const openapi = await api("/openapi.json");
  if (!openapi.ok) {
    notice("The request schema could not be read: " + errorText(openapi), "error");
    return;
  }
  const schema = openapi.data.components.schemas.EnqueueRequest;
  const required = new Set(schema.required || []);
  const box = $("new-video-fields");
  state.fields = [];
  for (const [name, property] of Object.entries(schema.properties)) {
    const field = fieldFor(name, property, required.has(name));
    state.fields.push(field);
    box.append(field.wrapper);
  }
}

function fieldFor(name, property, required) {
  const variant = (property.anyOf || [property]).find((p) => p.type !== "null") || property;
  const wrapper = document.createElement("div");
  wrapper.className = "field";
  const id = "field-" + name;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = (property.title || name) + (required ? " (required)" : "");
  let input;
  if (variant.enum) {
    input = document.createElement("select");
    for (const value of variant.enum) input.append(new Option(value, value, false, value === property.default));
  } else {
    input = document.createElement("input");
    input.type = variant.type === "integer" || variant.type === "number" ? "number" : "text";
    if (variant.type === "number") input.step = "any";
    if (variant.minimum !== undefined) input.min = variant.minimum;
    if (variant.maximum !== undefined) input.max = variant.maximum;
    if (variant.maxLength !== undefined) input.maxLength = variant.maxLength;
    if (property.default !== undefined && property.default !== null) input.value = property.default;
  }
  input.id = id;
  input.name = name;
  const help = document.createElement("p");
  help.className = "help";
  help.id = id + "-help";
  help.textContent = property.description || "";
  const error = document.createElement("p");
  error.className = "field-error";
  error.id = id + "-error";
  input.setAttribute("aria-describedby", `${help.id} ${error.id}`);
  wrapper.append(label, input, help, error);
  return {name, wrapper, input, error, type: variant.type, required};
}

async function submitNewVideo(event) {
  event.preventDefault();
  const body = {};
  for (const field of state.fields) {
    const value = field.input.value.trim();
    if (value === "" && !field.required) continue;
    body[field.name] = (field.type === "integer" || field.type === "number") && value !== "" ? Number(value) : value;
  }
  for (const field of state.fields) {
    field.error.textContent = "";
    field.input.removeAttribute("aria-invalid");
  }
  const result = await api("/pipeline/queue", {method: "POST", body});
  if (result.ok) {
    notice(`Queued “${body.topic}” as ${result.data.video_id}.`);
    location.hash = "#queue";
    refreshSoon(0);
    return;
  }
  if (result.status === 422 && Array.isArray(result.data.detail)) {
    let first = null;
    for (const error of result.data.detail) {
      const field = state.fields.find((f) => f.name === (error.loc || [])[1]);
      if (!field) continue;
      field.error.textContent = error.msg;
      field.input.setAttribute("aria-invalid", "true");
      first = first || field.input;
    }
    notice("The API refused the request: fix the fields marked.", "error");
    if (first) first.focus();
    return;
  }
  notice("Not queued: " + errorText(result), "error");
}

// --- a file of videos, queued as api/batch_file.py queues it --------------------------------------------------------

const BATCH_LIMIT = 100; // what one POST /pipeline/queue/batch takes

function csvRecords(text) {
  // RFC 4180: quoted cells may hold commas, newlines and doubled quotes. Each record keeps its first line's number.
  const records = [];
  let cell = "", record = [], quoted = false, line = 1, start = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else { if (c === "\n") line++; cell += c; }
    } else if (c === '"') quoted = true;
    else if (c === ",") { record.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      record.push(cell);
      records.push({line: start, cells: record});
      cell = ""; record = []; line++; start = line;
    } else cell += c;
  }
  if (cell !== "" || record.length) { record.push(cell); records.push({line: start, cells: record}); }
  return records;
}

function fileRows(name, text) {
  text = text.replace(/^\ufeff/, "");
  if (/\.(jsonl|ndjson)$/i.test(name)) {
    return text.split(/\r?\n/).flatMap((raw, i) => {
      if (!raw.trim() || raw.trim().startsWith("#")) return [];
      let body;
      try { body = JSON.parse(raw); } catch (error) { throw new Error(`line ${i + 1}: not JSON (${error.message})`); }
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw new Error(`line ${i + 1}: expected a JSON object`);
      }
      return [{line: i + 1, body}];
    });
  }
  const [header, ...records] = csvRecords(text);
  if (!header) return [];
  const columns = header.cells.map((c) => c.trim());
  return records.flatMap(({line, cells}) => {
    if (cells.length > columns.length) throw new Error(`line ${line}: more cells than the header has columns`);
    const body = {};
    cells.forEach((value, i) => { if (columns[i] && value.trim()) body[columns[i]] = value.trim(); });
    return Object.keys(body).length ? [{line, body}] : [];
  });
}

async function fileKey(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return "file-" + hex.slice(0, 24);
}

async function submitBatch(event) {
  event.preventDefault();
  const file = $("batch-file").files[0];
  const error = $("batch-file-error");
  error.textContent = "";
  if (!file) { error.textContent = "Choose a CSV or JSON Lines file."; return; }
  let rows;
  try {
    rows = fileRows(file.name, await file.text());
  } catch (err) {
    error.textContent = err.message;
    return;
  }
  if (!rows.length) { error.textContent = "No videos in the file."; return; }
  const key = await fileKey(file);
  const results = [];
  for (let start = 0; start < rows.length; start += BATCH_LIMIT) {
    const chunk = rows.slice(start, start + BATCH_LIMIT);
    const answer = await api("/pipeline/queue/batch", {
      method: "POST",
      body: {videos: chunk.map((r) => r.body)},
      headers: {"Idempotency-Key": `${key}-${start / BATCH_LIMIT}`},
    });
    if (answer.status === 422 && Array.isArray(answer.data.detail)) {
      // The API checked every row: each refused one by its line, and nothing of this part queued.
      for (const problem of answer.data.detail) {
        const [, , index, ...field] = problem.loc || [];
        const row = chunk[index];
        results.push([row ? row.line : "?", "invalid", `${field.join(".") || "row"}: ${problem.msg}`]);
      }
      continue;
    }
    if (!answer.ok) {
      error.textContent = "The API refused the file: " + errorText(answer);
      break;
    }
    for (const result of answer.data.results) {
      const row = chunk[result.index];
      results.push(result.outcome === "rejected"
        ? [row.line, `rejected (${result.error})`, result.message]
        : [row.line, result.outcome, result.video.video_id]);
    }
  }
  showBatchResults(results);
  const queued = results.filter(([, outcome]) => outcome === "created" || outcome === "repeated").length;
  notice(`${queued} of ${rows.length} videos in the file are queued.`, queued === rows.length ? "info" : "error");
  refreshSoon(0);
}

function showBatchResults(results) {
  const table = $("batch-results");
  table.tBodies[0].replaceChildren(...results.map((cells) => {
    const row = document.createElement("tr");
    row.dataset.outcome = cells[1];
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = String(text);
      row.append(cell);
    }
    return row;
  }));
  table.hidden = false;
}

// --- start --------------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  $("sign-in").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("refresh").addEventListener("click", () => refreshSoon(0));
  $("approve-form").addEventListener("submit", submitApprove);
  $("approve-cancel").addEventListener("click", () => $("approve-dialog").close());
  $("new-video").addEventListener("submit", submitNewVideo);
  $("batch").addEventListener("submit", submitBatch);
  $("costs-days").addEventListener("change", showCosts);
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(CREDENTIAL_KEY));
  } catch {
    saved = null;
  }
  if (saved && saved.bearer) {
    const session = await openSession(saved);
    if (session.ok) return;
    sessionStorage.removeItem(CREDENTIAL_KEY);
  }
  show("sign-in");
});
