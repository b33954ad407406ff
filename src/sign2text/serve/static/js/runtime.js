// Loading the in-browser runtime for live mode, all from this server (no CDN):
// onnxruntime-web (plain wasm backend) from /static/vendor/ort/ and MediaPipe Holistic
// from /static/vendor/holistic/ (both copied there by web/build.mjs), plus the model
// settings (GET /v1/model), the skeleton (GET /v1/skeleton) and the model file
// (GET /v1/model.onnx). Nothing is loaded until live mode starts.

import { getJSON, getBytes } from "./api.js";
import { BrowserClassifier } from "./classifier.js";
import { makeSkeleton } from "./skeleton.js";

export const VENDOR = "/static/vendor";

/** The onnxruntime-web module, configured for the single-threaded wasm backend. */
export async function loadOrt() {
  const src = `${VENDOR}/ort/ort.wasm.bundle.min.mjs`;
  let ort;
  try {
    ort = await import(src);
  } catch (err) {
    throw new Error(`could not load ${src} (is the web demo built? see docs/web_demo.md)`, { cause: err });
  }
  // Only the binary: the JS glue is inside the bundle (a string prefix would make ORT
  // import ort-wasm-simd-threaded.mjs from there as well).
  ort.env.wasm.wasmPaths = { wasm: `${VENDOR}/ort/ort-wasm-simd-threaded.wasm` };
  ort.env.wasm.numThreads = 1; // no SharedArrayBuffer needed (no COOP/COEP headers)
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
  return ort;
}

/** The served model's settings (GET /v1/model) and the skeleton (GET /v1/skeleton). */
export async function loadModelInfo() {
  const [model, skelDoc] = await Promise.all([getJSON("/v1/model"), getJSON("/v1/skeleton")]);
  return { model, skel: makeSkeleton(skelDoc) };
}

/**
 * The model settings, the skeleton and a classifier on the served model. `info` is
 * what loadModelInfo() gave, when the caller has it already.
 */
export async function loadClassifier(info = null) {
  const [ort, { model, skel }, bytes] = await Promise.all([
    loadOrt(),
    info || loadModelInfo(),
    getBytes("/v1/model.onnx"),
  ]);
  const classifier = await BrowserClassifier.create(ort, bytes, model, skel);
  return { ort, model, skel, classifier };
}

/** Load a classic script once (MediaPipe's solution script defines globalThis.Holistic). */
function loadScript(src) {
  return new Promise((resolve, reject) => {
    if (document.querySelector(`script[src="${src}"]`)) return resolve();
    const s = document.createElement("script");
    s.src = src;
    s.async = true;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`could not load ${src} (is the web demo built? see docs/web_demo.md)`));
    document.head.append(s);
  });
}

/**
 * The settings of sign2text.landmarks.holistic (HolisticConfig): model complexity 1,
 * smoothing on, no face refinement, no segmentation, detection/tracking confidence 0.5,
 * video mode (tracking between frames), and no selfie flip: frames go in as the camera
 * gives them, as in Python. Inference runs on the CPU (XNNPACK in wasm,
 * `useCpuInference`): on a machine without a GPU the default WebGL inference path runs
 * in software GL and took ~2 s per frame in headless Chromium, against ~0.1 s on the CPU
 * path.
 */
export const HOLISTIC_OPTIONS = Object.freeze({
  modelComplexity: 1,
  smoothLandmarks: true,
  enableSegmentation: false,
  smoothSegmentation: false,
  refineFaceLandmarks: false,
  minDetectionConfidence: 0.5,
  minTrackingConfidence: 0.5,
  selfieMode: false,
  useCpuInference: true,
});

/** Holistic graphs for live mode: one per core, at most 4 (each holds its own models). */
export function defaultHolisticWorkers() {
  const cores = (typeof navigator !== "undefined" && navigator.hardwareConcurrency) || 2;
  return Math.max(1, Math.min(4, cores));
}

/**
 * MediaPipe Holistic for the page: a pool of graphs in Web Workers
 * (js/holistic_worker.js), else one graph on the main thread. Both give
 * `{kind, size, process(source), reset(), close()}`: `process` takes a video element,
 * canvas or ImageBitmap and resolves with Holistic's landmark lists for it; up to `size`
 * calls may run at once (live mode keeps that many frames in flight, so the graphs use
 * several cores); a single caller that awaits each call always gets the first graph, so
 * its tracking sees every frame. `?holistic=main` in the page address forces the main
 * thread. `face: false` loads the graph without the face mesh (holisticFiles).
 */
export async function loadHolistic({ workers = defaultHolisticWorkers(), face = true } = {}) {
  const forced = typeof location !== "undefined" && new URLSearchParams(location.search).get("holistic");
  const canWork = typeof Worker === "function" && typeof OffscreenCanvas === "function";
  const files = holisticFiles(face);
  if (forced !== "main" && canWork && workers > 0) {
    try {
      return await HolisticPool.create(workers, files);
    } catch {
      // e.g. no WebGL in workers: the main thread still works (one core).
    }
  }
  return loadMainThreadHolistic(files);
}

/**
 * The files to serve the solution in place of those it asks for (holistic.js loads
 * them through locateFile): none, or with `face` false the graph without the face mesh
 * that web/build.mjs derives from holistic.binarypb (HolisticLandmarkGpu replaced by
 * its own pose and hand subgraphs, as sign2text.landmarks.holistic does in Python: the
 * same pose and hand landmarks, no face landmarks, faster).
 */
export function holisticFiles(face) {
  return face ? {} : { "holistic.binarypb": "holistic_body.binarypb" };
}

/** locateFile for the solution: the files under `base`, renamed by `files`. */
export function locateHolisticFile(base, files) {
  return (file) => base + (files[file] ?? file);
}

/** One Holistic graph on the main thread. */
async function loadMainThreadHolistic(files) {
  await loadScript(`${VENDOR}/holistic/holistic.js`);
  const holistic = new globalThis.Holistic({ locateFile: locateHolisticFile(`${VENDOR}/holistic/`, files) });
  holistic.setOptions({ ...HOLISTIC_OPTIONS });
  let pending = null;
  holistic.onResults((results) => {
    if (pending) pending(results);
  });
  await holistic.initialize();
  let queue = Promise.resolve();
  return {
    kind: "main",
    size: 1,
    /** Process one image; resolves with Holistic's results for it (one at a time). */
    process(image) {
      const run = () =>
        new Promise((resolve, reject) => {
          pending = resolve;
          holistic.send({ image }).catch(reject);
        });
      const result = queue.then(run, run);
      queue = result.catch(() => {});
      return result;
    },
    async reset() {
      await queue;
      holistic.reset();
    },
    close: () => holistic.close(),
  };
}

/** Holistic graphs in Web Workers; each takes one frame at a time. */
class HolisticPool {
  constructor(workers) {
    this.kind = "workers";
    this.slots = workers.map((worker) => ({ worker, busy: false, reply: null }));
    this.waiters = [];
    for (const slot of this.slots) {
      slot.worker.onmessage = (event) => this.receive(slot, event.data);
      slot.worker.onerror = (event) => {
        event.preventDefault();
        this.receive(slot, { type: "error", message: event.message || "the Holistic worker failed" });
      };
    }
  }

  get size() {
    return this.slots.length;
  }

  static async create(n, files) {
    const workers = Array.from({ length: n }, () => new Worker("/static/js/holistic_worker.js"));
    const pool = new HolisticPool(workers);
    const init = { type: "init", vendor: VENDOR, options: { ...HOLISTIC_OPTIONS }, files };
    try {
      await Promise.all(pool.slots.map((slot) => pool.call(slot, init)));
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  receive(slot, msg) {
    const reply = slot.reply;
    slot.reply = null;
    if (!reply) return;
    if (msg.type === "error") reply.reject(new Error(`MediaPipe Holistic (worker): ${msg.message}`));
    else reply.resolve(msg);
  }

  /** Send one message to a slot's worker and wait for its answer. */
  call(slot, msg, transfer = []) {
    return new Promise((resolve, reject) => {
      slot.reply = { resolve, reject };
      slot.worker.postMessage(msg, transfer);
    });
  }

  /** The first idle slot (marked busy), waiting for one when all are busy. */
  async acquire() {
    for (;;) {
      const slot = this.slots.find((s) => !s.busy);
      if (slot) {
        slot.busy = true;
        return slot;
      }
      await new Promise((resolve) => this.waiters.push(resolve));
    }
  }

  release(slot) {
    slot.busy = false;
    const waiters = this.waiters.splice(0);
    for (const wake of waiters) wake();
  }

  async process(source) {
    const image = await createImageBitmap(source);
    const slot = await this.acquire();
    try {
      const msg = await this.call(slot, { type: "frame", image }, [image]);
      return msg.results;
    } finally {
      this.release(slot);
    }
  }

  /** Forget the tracking of every graph (a new stream), once no frame is in flight. */
  async reset() {
    const slots = [];
    while (slots.length < this.slots.length) slots.push(await this.acquire());
    try {
      await Promise.all(slots.map((slot) => this.call(slot, { type: "reset" })));
    } finally {
      for (const slot of slots) this.release(slot);
    }
  }

  close() {
    for (const slot of this.slots) slot.worker.terminate();
  }
}
