// The web demo's page: tabs, upload mode (POST /v1/recognize), the examples list,
// live mode (live.js) and teach mode (teach.js), both entirely in the browser.

import { ApiError, describeError, getBlob, getJSON, recognizeClip } from "./api.js";
import { LiveMode } from "./live.js";
import { TeachMode } from "./teach.js";

const $ = (id) => document.getElementById(id);

// --- tabs (WAI-ARIA tabs pattern: arrow keys, Home/End, roving tabindex) ---------------

const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
let live = null; // the LiveMode, created below
let teach = null; // the TeachMode, created below

function selectTab(tab, { focus = true } = {}) {
  // The camera is on only while the live panel is shown.
  if (tab.id !== "tab-live" && live) live.stop();
  if (tab.id !== "tab-teach" && teach) teach.cancel();
  for (const t of tabs) {
    const selected = t === tab;
    t.setAttribute("aria-selected", String(selected));
    t.tabIndex = selected ? 0 : -1;
    $(t.getAttribute("aria-controls")).hidden = !selected;
  }
  if (focus) tab.focus();
  if (tab.id === "tab-teach" && teach) teach.show();
  const name = tab.id.replace("tab-", "");
  if (location.hash.slice(1) !== name) history.replaceState(null, "", name === "upload" ? location.pathname : `#${name}`);
}

for (const tab of tabs) {
  tab.addEventListener("click", () => selectTab(tab));
  tab.addEventListener("keydown", (ev) => {
    const i = tabs.indexOf(tab);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    selectTab(tabs[(to + tabs.length) % tabs.length]);
  });
}

const fromHash = tabs.find((t) => t.id === `tab-${location.hash.slice(1)}`);
if (fromHash) selectTab(fromHash, { focus: false });

// --- upload mode ---------------------------------------------------------------------

const upload = {
  file: null,
  url: null,
  request: null, // the AbortController of the recognition in flight
  input: $("file-input"),
  drop: $("drop-zone"),
  name: $("file-name"),
  preview: $("preview"),
  button: $("recognize"),
  status: $("upload-status"),
  error: $("upload-error"),
  result: $("result"),
};

function showUploadError(text) {
  upload.error.textContent = text;
  upload.error.hidden = !text;
}

const kb = (bytes) => {
  if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MB`;
  return bytes >= 1024 ? `${Math.round(bytes / 1024)} KB` : `${bytes} bytes`;
};

/** Give focus back to `el` when disabling it while it worked dropped focus to the page. */
function refocus(el) {
  if (document.activeElement === document.body || document.activeElement === null) el.focus();
}

/** Make `file` the clip to recognize: preview it and enable Recognize. A request still
 * running for the previous clip is cancelled (its answer would be for the wrong clip). */
function setFile(file) {
  if (upload.request) upload.request.abort();
  upload.request = null;
  showUploadError("");
  upload.result.hidden = true;
  if (upload.url) URL.revokeObjectURL(upload.url);
  upload.file = file;
  upload.url = URL.createObjectURL(file);
  upload.preview.src = upload.url;
  upload.preview.hidden = false;
  upload.name.textContent = `${file.name} (${kb(file.size)})`;
  upload.button.disabled = false;
  upload.status.textContent = "Ready: press Recognize.";
}

// Browsers play fewer formats than the server decodes (e.g. AVI, MKV): no preview is not
// an error, but people should know why the preview stays empty.
upload.preview.addEventListener("error", () => {
  if (!upload.file || upload.preview.src !== upload.url) return;
  upload.preview.hidden = true;
  upload.status.textContent =
    "This browser cannot play the file, so there is no preview. Press Recognize: the server says whether it can read it.";
});

upload.input.addEventListener("change", () => {
  if (upload.input.files && upload.input.files[0]) setFile(upload.input.files[0]);
});

for (const type of ["dragenter", "dragover"]) {
  upload.drop.addEventListener(type, (ev) => {
    ev.preventDefault();
    upload.drop.classList.add("dragging");
  });
}
for (const type of ["dragleave", "drop"]) {
  upload.drop.addEventListener(type, () => upload.drop.classList.remove("dragging"));
}
upload.drop.addEventListener("drop", (ev) => {
  ev.preventDefault();
  const file = ev.dataTransfer && ev.dataTransfer.files[0];
  if (file) setFile(file);
});

/** Plain words for the upload errors people meet most; the server's message follows. */
const UPLOAD_HINTS = {
  unsupported_media: "this file is not a video this service reads (try an MP4, WebM, MOV, AVI or MKV clip)",
  undecodable_media: "the video could not be decoded (it may be cut short or damaged)",
  empty_upload: "the file is empty",
  no_signing: "nobody was seen signing in this clip (hands and upper body should be in view)",
  payload_too_large: "the file is larger than this server accepts",
  media_too_large: "the clip is longer or larger than this server accepts",
  busy: "the server is busy",
};

const STAGES = [
  ["decode_ms", "Decoding the video"],
  ["landmarks_ms", "Landmarks (MediaPipe Holistic)"],
  ["features_ms", "Features"],
  ["model_ms", "Model"],
  ["total_ms", "Total recognition"],
];

/** How a label reads on the page: the no-sign class gets words. */
const display = (label) => (label === "_none_" ? "no sign (_none_)" : label);

function showResult(r) {
  const pct = (p) => `${(p * 100).toFixed(1)}%`;
  const word = $("result-word");
  if (r.rejected) {
    const best = r.top_k[0];
    word.textContent = best
      ? `No known sign recognized (top candidate: ${display(best.label)}, ${pct(best.probability)}).`
      : "No known sign recognized.";
  } else {
    word.textContent = `${r.label} (${pct(r.confidence)})`;
  }
  const list = $("topk");
  list.replaceChildren(
    ...r.top_k.map((c) => {
      const li = document.createElement("li");
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = display(c.label);
      label.dataset.label = c.label;
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.setAttribute("aria-hidden", "true");
      const fill = document.createElement("span");
      fill.style.width = `${Math.max(0, Math.min(100, c.probability * 100))}%`;
      bar.append(fill);
      const value = document.createElement("span");
      value.className = "pct";
      value.textContent = pct(c.probability);
      li.append(label, bar, value);
      return li;
    }),
  );
  const rows = STAGES.filter(([key]) => r.timings && key in r.timings).map(([key, name]) => [name, r.timings[key]]);
  if (r.queue_ms !== undefined) rows.push(["Waiting for a worker", r.queue_ms]);
  if (r.request_ms !== undefined) rows.push(["Whole request (server)", r.request_ms]);
  rows.push([`Frames seen / with hands`, null, `${r.frames} / ${Math.round(r.hands_rate * 100)}%`]);
  $("timings").tBodies[0].replaceChildren(
    ...rows.map(([name, ms, text]) => {
      const tr = document.createElement("tr");
      const th = document.createElement("td");
      th.textContent = name;
      const td = document.createElement("td");
      td.textContent = text ?? `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
      tr.append(th, td);
      return tr;
    }),
  );
  upload.result.hidden = false;
}

upload.button.addEventListener("click", async () => {
  if (!upload.file || upload.request) return;
  const request = new AbortController();
  upload.request = request;
  showUploadError("");
  upload.button.disabled = true;
  upload.result.hidden = true;
  upload.status.textContent = `Recognizing ${upload.file.name}…`;
  try {
    const result = await recognizeClip(upload.file, 5, request.signal);
    if (request.signal.aborted) return;
    showResult(result);
    upload.status.textContent = "Done.";
  } catch (err) {
    if (request.signal.aborted) return; // another clip was chosen meanwhile
    upload.status.textContent = "";
    const hint = err instanceof ApiError ? UPLOAD_HINTS[err.code] : undefined;
    showUploadError(`Could not recognize this clip: ${hint ? `${hint}. Server: ` : ""}${describeError(err)}`);
  } finally {
    if (upload.request === request) upload.request = null;
    upload.button.disabled = !upload.file || Boolean(upload.request);
    refocus(upload.button);
  }
});

// --- examples ------------------------------------------------------------------------

async function loadExample(ex, button) {
  const status = $("examples-status");
  button.disabled = true;
  status.textContent = `Loading ${ex.name}…`;
  try {
    const blob = await getBlob(ex.url);
    setFile(new File([blob], ex.name, { type: blob.type || "video/mp4" }));
    status.textContent = "";
    selectTab($("tab-upload"), { focus: false });
    upload.status.textContent = `Loaded the example ${ex.name}: press Recognize.`;
    upload.button.focus();
  } catch (err) {
    status.textContent = `Could not load ${ex.name}: ${describeError(err)}`;
  } finally {
    button.disabled = false;
  }
}

async function listExamples() {
  const status = $("examples-status");
  const list = $("examples");
  try {
    const body = await getJSON("/v1/examples");
    const items = Array.isArray(body) ? body : body.examples || [];
    if (!items.length) {
      status.textContent = "This server has no example clips.";
      return;
    }
    list.replaceChildren(
      ...items.map((ex) => {
        const word = ex.expected ?? ex.word ?? null;
        const li = document.createElement("li");
        const title = document.createElement("div");
        title.className = "word";
        title.textContent = word || ex.name;
        const meta = document.createElement("p");
        meta.className = "meta";
        const vocab = ex.in_vocabulary === false ? " · not a word the model knows" : "";
        meta.textContent = `${ex.name} · ${kb(ex.size)}${vocab}`;
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = "Load into the upload form";
        button.setAttribute("aria-label", `Load the example ${word || ex.name} (${ex.name}) into the upload form`);
        button.addEventListener("click", () => loadExample(ex, button));
        li.append(title, meta, button);
        return li;
      }),
    );
    status.textContent = `${items.length} clips.`;
  } catch (err) {
    status.textContent = `Could not list the examples: ${describeError(err)}`;
  }
}

listExamples();

// --- live mode -----------------------------------------------------------------------

live = new LiveMode({
  start: $("live-start"),
  stop: $("live-stop"),
  clear: $("transcript-clear"),
  mirror: $("live-mirror"),
  stage: $("stage"),
  video: $("camera"),
  canvas: $("overlay"),
  status: $("live-status"),
  error: $("live-error"),
  fps: $("live-fps"),
  hands: $("live-hands"),
  segment: $("live-segment"),
  transcript: $("transcript"),
});

// --- teach mode ----------------------------------------------------------------------

teach = new TeachMode(
  {
    form: $("teach-form"),
    word: $("teach-word"),
    count: $("teach-count"),
    start: $("teach-start"),
    cancel: $("teach-cancel"),
    status: $("teach-status"),
    error: $("teach-error"),
    stage: $("teach-stage"),
    video: $("teach-camera"),
    canvas: $("teach-overlay"),
    progress: $("teach-progress"),
    examples: $("teach-examples"),
    added: $("teach-added"),
    summary: $("vocab-summary"),
    words: $("vocab-words"),
    exportButton: $("vocab-export"),
    importInput: $("vocab-import"),
    vocabStatus: $("vocab-status"),
    vocabError: $("vocab-error"),
  },
  live,
);
// Live mode uses the words stored on this device (a failure only leaves them out).
live.beforeStart = () => teach.loadVocabulary().catch(() => null);
if (location.hash === "#teach") teach.show();

// Stop the camera when the page goes away or is hidden (another tab, a locked phone).
window.addEventListener("pagehide", () => {
  live.stop();
  teach.cancel();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") {
    live.stop();
    teach.cancel();
  }
});
document.body.dataset.ready = "true";
