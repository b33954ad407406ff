// One MediaPipe Holistic graph in a Web Worker (a classic worker: holistic.js is a
// classic script). Holistic's wasm build is single-threaded, so live mode runs a few of
// these on successive camera frames to use more than one core (runtime.js HolisticPool).
//
// Messages in:  {type: "init", vendor, options, files} -> {type: "ready"}
//               (files: served in place of those the solution asks for, runtime.js holisticFiles)
//               {type: "frame", image}           -> {type: "result", results}
//                                                   (image: an ImageBitmap, transferred)
//               {type: "reset"}                  -> {type: "reset-done"}
// On failure:   {type: "error", message}
// `results` holds only the four landmark lists of Holistic's results (face, left hand,
// pose, right hand: arrays of {x, y, z, visibility}), which is all resultsToFrame reads.

/* global importScripts, Holistic */
"use strict";

let holistic = null;
let pending = null;

function landmarksOnly(r) {
  return {
    faceLandmarks: r.faceLandmarks || null,
    leftHandLandmarks: r.leftHandLandmarks || null,
    poseLandmarks: r.poseLandmarks || null,
    rightHandLandmarks: r.rightHandLandmarks || null,
  };
}

/**
 * holistic.js 0.5.1675471629 (pinned in web/package-lock.json) runs in a worker on an
 * OffscreenCanvas, but its worker path never keeps the canvas's WebGL context, which its
 * video input needs ("Cannot read properties of undefined (reading 'canvas')" on the
 * first frame). Give the context to the solution object that owns the canvas. The
 * property names are those of this pinned build; tests/browser checks live mode in
 * Chromium with it.
 */
function attachGlContext(solution) {
  let attached = 0;
  for (const inner of Object.values(solution)) {
    if (inner && typeof inner === "object" && inner.m instanceof OffscreenCanvas && !inner.K) {
      inner.K = inner.m.getContext("webgl2") || inner.m.getContext("webgl");
      attached += 1;
    }
  }
  if (attached !== 1) throw new Error(`holistic worker: expected one graph canvas, found ${attached}`);
}

async function init(vendor, options, files = {}) {
  const base = `${vendor}/holistic/`;
  // The packed-assets loader and the wasm factory read locateFile from this object
  // (the page path of holistic.js sets it on window; its worker path does not).
  self.createMediapipeSolutionsPackedAssets = { locateFile: (file) => base + file };
  importScripts(`${base}holistic.js`);
  // As runtime.js locateHolisticFile (a classic worker cannot import the module).
  holistic = new Holistic({ locateFile: (file) => base + (files[file] ?? file) });
  holistic.setOptions(options);
  holistic.onResults((results) => {
    if (pending) pending(results);
  });
  await holistic.initialize();
  attachGlContext(holistic);
}

function process(image) {
  return new Promise((resolve, reject) => {
    pending = resolve;
    holistic.send({ image }).catch(reject);
  });
}

self.onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === "init") {
      await init(msg.vendor, msg.options, msg.files);
      self.postMessage({ type: "ready" });
    } else if (msg.type === "frame") {
      try {
        const results = await process(msg.image);
        self.postMessage({ type: "result", results: landmarksOnly(results) });
      } finally {
        msg.image.close();
      }
    } else if (msg.type === "reset") {
      holistic.reset();
      self.postMessage({ type: "reset-done" });
    }
  } catch (err) {
    self.postMessage({ type: "error", message: String((err && err.message) || err) });
  }
};
