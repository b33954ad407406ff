// Live mode, entirely in the browser: camera frame -> MediaPipe Holistic -> a (543, 3)
// landmark frame -> StreamRecognizer (stream.js: gate, segments, hysteresis) ->
// features (features.js) -> onnxruntime-web -> words in the transcript.
//
// Like sign2text.runtime.live, frames are never queued: the loop takes the newest camera
// frame when it is free, so a slow machine drops frames instead of falling behind.
// Nothing is sent anywhere: after the models are loaded there is no request at all.
// The personal vocabulary (vocab.js, taught in teach.js) is applied to each segment's
// result: a user word can win over the built-in answer (applyVocabulary).

import { describeError } from "./api.js";
import { readsFace } from "./features.js";
import { frameHasHand, resultsToFrame } from "./landmarks.js";
import { loadClassifier, loadHolistic, loadModelInfo } from "./runtime.js";
import { StreamRecognizer } from "./stream.js";
import { applyVocabulary } from "./vocab.js";

const FPS_WINDOW_S = 2.0;

/** Resolves at the next camera frame (requestVideoFrameCallback, else a short timer). */
export function nextFrame(video) {
  return new Promise((resolve) => {
    if (typeof video.requestVideoFrameCallback === "function") {
      let done = false;
      const finish = () => {
        if (!done) {
          done = true;
          resolve();
        }
      };
      video.requestVideoFrameCallback(finish);
      setTimeout(finish, 200); // never wait forever on a paused or hidden video
    } else {
      setTimeout(resolve, 1000 / 60);
    }
  });
}

/** The front camera (640x480 ideal) playing in `video`; resolves with its MediaStream. */
export async function openCamera(video) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
    audio: false,
  });
  try {
    video.srcObject = stream;
    await video.play();
  } catch (err) {
    closeCamera(stream, video);
    throw err;
  }
  return stream;
}

/** Stop every track of `stream` (may be null) and detach it from `video`. */
export function closeCamera(stream, video) {
  if (stream) for (const track of stream.getTracks()) track.stop();
  video.srcObject = null;
}

export function cameraMessage(err) {
  switch (err && err.name) {
    case "NotAllowedError":
      return "The camera permission was denied. Allow the camera for this page and try again.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found on this device.";
    case "NotReadableError":
      return "The camera is in use by another application.";
    default:
      return describeError(err);
  }
}

/** `load()` run once: later calls share its promise, and a failed load runs again. */
function loadOnce(load) {
  let promise = null;
  return () => {
    if (!promise) {
      promise = load().catch((err) => {
        promise = null;
        throw err;
      });
    }
    return promise;
  };
}

export class LiveMode {
  /** @param {Record<string, HTMLElement>} el the page's live-mode elements */
  constructor(el) {
    this.el = el;
    this.running = false;
    this.runtime = null; // {classifier, skel, model} once loaded
    this.holistic = null;
    /** The model's settings and the skeleton (fetched once). */
    this.loadInfo = loadOnce(loadModelInfo);
    this.classifierOnce = loadOnce(() => this.loadInfo().then((info) => loadClassifier(info)));
    // Without the face mesh when the model reads no face point, as in Python.
    this.holisticOnce = loadOnce(() =>
      this.loadInfo().then((info) => loadHolistic({ face: readsFace(info.model.features, info.skel) })),
    );
    /** The personal vocabulary (vocab.js UserVocabulary of this model) or null; read
     * at every segment, so words taught while the page is open apply at once. */
    this.vocabulary = null;
    /** Called (awaited) once the models are loaded, before the camera starts. */
    this.beforeStart = null;
    this.stream = null;
    this.mediaStream = null;
    this.processed = 0;
    this.times = [];
    this.words = [];
    el.start.addEventListener("click", () => this.start());
    el.stop.addEventListener("click", () => this.stop());
    el.clear.addEventListener("click", () => this.clearTranscript());
    el.mirror.addEventListener("change", () => el.stage.classList.toggle("mirrored", el.mirror.checked));
  }

  setStatus(text) {
    this.el.status.textContent = text;
  }

  showError(text) {
    this.el.error.textContent = text;
    this.el.error.hidden = !text;
  }

  /** The model, the skeleton and the classifier (loaded once; shared with teach mode). */
  async loadModel() {
    this.runtime = await this.classifierOnce();
    return this.runtime;
  }

  /** The model and MediaPipe Holistic (loaded once; shared with teach mode). */
  async load(setStatus = (text) => this.setStatus(text)) {
    if (!this.runtime || !this.holistic) {
      setStatus("Loading the model and MediaPipe Holistic (about 45 MB the first time)…");
      const [, holistic] = await Promise.all([this.loadModel(), this.holisticOnce()]);
      this.holistic = holistic;
    }
    return { runtime: this.runtime, holistic: this.holistic };
  }

  /** The classifier with the personal vocabulary applied to each result. */
  vocabularyClassifier() {
    const classifier = this.runtime.classifier;
    return {
      recognizeLandmarks: async (frames) => {
        const result = await classifier.recognizeLandmarks(frames);
        const vocab = this.vocabulary;
        if (!vocab || vocab.modelSha256 !== classifier.modelSha256) return result;
        return applyVocabulary(vocab, result, result.embedding, classifier.prototypes);
      },
    };
  }

  async start() {
    if (this.running || this.starting) return;
    const el = this.el;
    this.showError("");
    this.starting = true;
    this.cancelled = false;
    el.start.disabled = true;
    try {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw new Error("This browser gives no camera access here: open the page over https or on localhost.");
      }
      // The camera first: a missing camera or a refused permission is known at once,
      // before the models download.
      this.setStatus("Starting the camera…");
      this.mediaStream = await openCamera(el.video);
      if (this.cancelled) throw new Error("cancelled");
      await this.load();
      if (this.cancelled) throw new Error("cancelled");
      if (this.beforeStart) await this.beforeStart(); // e.g. read the stored vocabulary
      // A new stream: forget Holistic's tracking and the stream state (Python resets the
      // graph between clips too).
      await this.holistic.reset();
      if (this.cancelled) throw new Error("cancelled");
    } catch (err) {
      // stop() during start-up (another tab was shown) cancels quietly.
      if (!this.cancelled) this.showError(cameraMessage(err));
      this.setStatus(this.cancelled ? "Stopped." : "");
      this.starting = false;
      el.start.disabled = false;
      this.releaseCamera();
      if (!this.cancelled && (document.activeElement === document.body || !document.activeElement)) el.start.focus();
      return;
    }
    this.starting = false;
    el.fps.dataset.holistic = `${this.holistic.kind}:${this.holistic.size}`;
    this.stream = new StreamRecognizer(this.vocabularyClassifier(), this.runtime.skel);
    this.processed = 0;
    this.times = [];
    this.running = true;
    el.stop.disabled = false;
    el.stage.dataset.state = "running";
    this.setStatus("Live: sign one word at a time.");
    el.stop.focus();
    this.loop().catch((err) => {
      this.showError(describeError(err));
      this.stop();
    });
  }

  /**
   * Camera frames -> Holistic -> the stream. Up to `holistic.size` frames are in flight at
   * once (one per Holistic worker), so the graphs use several cores; results are used in
   * capture order. A frame that arrives while every graph is busy is skipped: live mode
   * processes what it can and never queues up (the Python live mode drops frames too).
   */
  async loop() {
    const { video } = this.el;
    const holistic = this.holistic;
    const t0 = performance.now();
    const inFlight = []; // [{t, results: Promise}] in capture order
    while (this.running) {
      while (inFlight.length >= holistic.size) await this.use(inFlight.shift());
      if (!this.running) break;
      await nextFrame(video);
      if (!this.running) break;
      if (video.readyState < 2) continue;
      const t = (performance.now() - t0) / 1000; // capture time, seconds on the stream clock
      const results = holistic.process(video);
      results.catch(() => {}); // awaited in use(); a stop may leave it unawaited
      inFlight.push({ t, results });
    }
  }

  /** One processed frame: draw it, count it, and push it to the stream. */
  async use({ t, results }) {
    const frame = resultsToFrame(await results, this.runtime.skel);
    if (!this.running) return;
    const { video, canvas } = this.el;
    this.draw(canvas, video, frame);
    this.tick(frameHasHand(frame, this.runtime.skel));
    this.addWords(await this.stream.push(frame, t));
  }

  tick(hands) {
    const now = performance.now() / 1000;
    this.processed += 1;
    this.times.push(now);
    while (this.times.length && now - this.times[0] > FPS_WINDOW_S) this.times.shift();
    const span = this.times.length > 1 ? this.times[this.times.length - 1] - this.times[0] : 0;
    const fps = span > 0 ? (this.times.length - 1) / span : 0;
    const out = this.el.fps;
    out.dataset.fps = fps.toFixed(2);
    out.dataset.frames = String(this.processed);
    out.textContent = `${fps.toFixed(1)} frames/s (${this.processed} frames)`;
    this.el.hands.textContent = hands ? "seen" : "not seen";
    const seg = this.stream.segments[this.stream.segments.length - 1];
    if (seg) {
      const what = seg.label === null ? "no hand" : seg.emitted ? seg.label : `rejected (${seg.label})`;
      this.el.segment.textContent = `${seg.start_s.toFixed(1)}–${seg.end_s.toFixed(1)} s: ${what}`;
    }
  }

  addWords(events) {
    for (const ev of events) {
      this.words.push(ev);
      const span = document.createElement("span");
      span.className = "word";
      span.textContent = ev.label;
      const mine = Boolean(this.vocabulary && this.vocabulary.words.has(ev.label));
      if (mine) {
        span.classList.add("user-word");
        span.dataset.user = "true";
      }
      const how = mine ? `your word, similarity ${ev.confidence.toFixed(2)}` : `${(ev.confidence * 100).toFixed(0)}%`;
      span.title = `${how} at ${ev.start_s.toFixed(1)}–${ev.end_s.toFixed(1)} s`;
      this.el.transcript.append(span, " ");
    }
  }

  clearTranscript() {
    this.words = [];
    this.el.transcript.textContent = "";
  }

  /** Landmarks over the video: hands, pose and lips from the skeleton's limbs. */
  draw(canvas, video, frame) {
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) return;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = canvas.getContext("2d");
    const skel = this.runtime.skel;
    const N = skel.nDims;
    ctx.clearRect(0, 0, w, h);
    ctx.lineWidth = Math.max(2, w / 320);
    const colour = (i) =>
      i >= skel.leftHand.start && i < skel.leftHand.stop
        ? "#ff5a36"
        : i >= skel.rightHand.start && i < skel.rightHand.stop
          ? "#2ad1ff"
          : i >= skel.pose.start && i < skel.pose.stop
            ? "#f5f5f5"
            : "#ffd54a";
    for (const [a, b] of skel.limbs) {
      const ax = frame[a * N];
      const bx = frame[b * N];
      if (Number.isNaN(ax) || Number.isNaN(bx)) continue;
      ctx.strokeStyle = colour(a);
      ctx.beginPath();
      ctx.moveTo(ax * w, frame[a * N + 1] * h);
      ctx.lineTo(bx * w, frame[b * N + 1] * h);
      ctx.stroke();
    }
    for (const hand of [skel.leftHand, skel.rightHand]) {
      ctx.fillStyle = colour(hand.start);
      for (let i = hand.start; i < hand.stop; i++) {
        const x = frame[i * N];
        if (Number.isNaN(x)) continue;
        ctx.beginPath();
        ctx.arc(x * w, frame[i * N + 1] * h, ctx.lineWidth * 1.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }

  releaseCamera() {
    closeCamera(this.mediaStream, this.el.video);
    this.mediaStream = null;
  }

  async stop() {
    if (this.starting) this.cancelled = true; // start() releases the camera itself
    if (!this.running) return;
    this.running = false;
    this.releaseCamera();
    const ctx = this.el.canvas.getContext("2d");
    ctx.clearRect(0, 0, this.el.canvas.width, this.el.canvas.height);
    this.el.stage.dataset.state = "stopped";
    this.el.stop.disabled = true;
    this.el.start.disabled = false;
    try {
      this.addWords(await this.stream.flush()); // a sign still open when stopped
    } catch (err) {
      this.showError(describeError(err));
    }
    this.setStatus("Stopped.");
    this.el.start.focus();
  }
}
