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
  const ort = await import(`${VENDOR}/ort/ort.wasm.bundle.min.mjs`);
  // Only the binary: the JS glue is inside the bundle (a string prefix would make ORT
  // import ort-wasm-simd-threaded.mjs from there as well).
  ort.env.wasm.wasmPaths = { wasm: `${VENDOR}/ort/ort-wasm-simd-threaded.wasm` };
  ort.env.wasm.numThreads = 1; // no SharedArrayBuffer needed (no COOP/COEP headers)
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
  return ort;
}

/** The model settings, the skeleton and a classifier on the served model. */
export async function loadClassifier() {
  const [ort, model, skelDoc, bytes] = await Promise.all([
    loadOrt(),
    getJSON("/v1/model"),
    getJSON("/v1/skeleton"),
    getBytes("/v1/model.onnx"),
  ]);
  const skel = makeSkeleton(skelDoc);
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
 * A MediaPipe Holistic graph with the settings of sign2text.landmarks.holistic
 * (HolisticConfig): model complexity 1, smoothing on, no face refinement, no
 * segmentation, detection/tracking confidence 0.5, video mode (tracking between frames),
 * and no selfie flip: frames go in as the camera gives them, as in Python.
 * Inference runs on the CPU (XNNPACK in wasm, `useCpuInference`): on a machine without
 * a GPU the default WebGL inference path runs in software GL and took ~2 s per frame
 * in headless Chromium, against ~0.1 s on the CPU path.
 */
export async function loadHolistic() {
  await loadScript(`${VENDOR}/holistic/holistic.js`);
  const holistic = new globalThis.Holistic({ locateFile: (file) => `${VENDOR}/holistic/${file}` });
  holistic.setOptions({
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
  let pending = null;
  holistic.onResults((results) => {
    if (pending) pending(results);
  });
  await holistic.initialize();
  return {
    holistic,
    /** Process one image; resolves with Holistic's results for it. */
    process(image) {
      return new Promise((resolve, reject) => {
        pending = resolve;
        holistic.send({ image }).catch(reject);
      });
    },
    close: () => holistic.close(),
  };
}
