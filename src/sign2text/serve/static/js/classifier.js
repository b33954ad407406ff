// The exported ONNX model in the browser: landmarks -> features (features.js) ->
// onnxruntime-web -> softmax -> a decision. A port of Recognizer.recognize_landmarks
// and Recognizer._decide (runtime/recognizer.py) plus OnnxClassifier.logits and
// softmax (runtime/onnx_model.py). No DOM; the onnxruntime-web namespace is passed in.
// Also returns the model's `embedding` output (personal vocabulary, vocab.js) and keeps
// the SHA-256 of the model file, the identity a vocabulary is tied to.

import { checkConfig, computeFeatures, featureDim, handRate } from "./features.js";
import { NONE_LABEL, NoSigningError } from "./stream.js";
import { decodePrototypes } from "./vocab.js";

const DEFAULT_REJECT_THRESHOLD = 0.5;

/**
 * The reject threshold the server uses (`reject_threshold` of GET /v1/model), else the
 * model card's, else 0.5 (ModelMetadata.reject_threshold).
 */
export function rejectThreshold(model) {
  for (const value of [model.reject_threshold, model.card?.reject_threshold]) {
    const thr = Number(value);
    if (value !== undefined && value !== null && Number.isFinite(thr) && thr >= 0 && thr <= 1) return thr;
  }
  return DEFAULT_REJECT_THRESHOLD;
}

/** Row softmax computed in float64, returned as float32 (onnx_model.softmax). */
export function softmax(logits) {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const total = e.reduce((a, b) => a + b, 0);
  return Float32Array.from(e, (v) => v / total);
}

const round6 = (p) => Math.round(p * 1e6) / 1e6;

/** Lower-case hex SHA-256 of some bytes (sign2text.io.atomic.sha256_file), or null
 * where the page has no Web Crypto (not a secure context: plain http, not localhost). */
export async function sha256Hex(bytes) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return null;
  const digest = new Uint8Array(await subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class BrowserClassifier {
  /**
   * @param {*} ort the onnxruntime-web module
   * @param {*} session an ort.InferenceSession of the exported model
   * @param {*} model the JSON of GET /v1/model (labels, features, reject_threshold, card)
   * @param {import("./skeleton.js").Skeleton} skel
   */
  constructor(ort, session, model, skel, { topK = 5, modelSha256 = null } = {}) {
    if (model.input && model.input !== "landmarks") {
      throw new Error(
        "this server's model takes RGB video clips: live mode and teaching need a landmark model (Upload works)",
      );
    }
    checkConfig(model.features, skel);
    const names = session.inputNames;
    if (!names.includes("features") || !names.includes("mask") || !session.outputNames.includes("logits")) {
      throw new Error(`model: expected inputs features, mask and output logits; got ${names} -> ${session.outputNames}`);
    }
    this.ort = ort;
    this.session = session;
    this.labels = model.labels;
    this.features = model.features;
    this.skel = skel;
    this.dim = featureDim(model.features, skel);
    this.rejectThreshold = rejectThreshold(model);
    this.topK = Math.max(1, topK | 0);
    /** The model has an `embedding` output (a personal vocabulary can be used). */
    this.hasEmbedding = session.outputNames.includes("embedding");
    /** The model's built-in prototypes (vocab.decodePrototypes), null when it has none. */
    this.prototypes = decodePrototypes(model.prototypes);
    /** SHA-256 of the model file (hex), null when unknown. */
    this.modelSha256 = modelSha256;
  }

  /**
   * Create the session from the model bytes (GET /v1/model.onnx), plain wasm backend,
   * and hash the bytes (SHA-256) so that a vocabulary can be checked against the model.
   */
  static async create(ort, modelBytes, model, skel, options = {}) {
    const bytes = new Uint8Array(modelBytes);
    // digest() copies the bytes when called, before the session sees them.
    const [modelSha256, session] = await Promise.all([
      sha256Hex(bytes),
      ort.InferenceSession.create(bytes.slice(), { executionProviders: ["wasm"], graphOptimizationLevel: "all" }),
    ]);
    return new BrowserClassifier(ort, session, model, skel, { modelSha256, ...options });
  }

  /** Logits (C) and embedding (E, or null) of one feature sequence (batch of 1). */
  async run(features, mask, frames) {
    const ort = this.ort;
    const feeds = {
      features: new ort.Tensor("float32", features, [1, frames, this.dim]),
      mask: new ort.Tensor("bool", Uint8Array.from(mask), [1, frames]),
    };
    const names = this.hasEmbedding ? ["logits", "embedding"] : ["logits"];
    const out = await this.session.run(feeds, names);
    return { logits: out.logits.data, embedding: this.hasEmbedding ? out.embedding.data : null };
  }

  /** Logits (C) of one feature sequence (OnnxClassifier.logits with a batch of 1). */
  async logits(features, mask, frames) {
    return (await this.run(features, mask, frames)).logits;
  }

  /**
   * Recognize one sign from landmark frames (recognize_landmarks): throws
   * NoSigningError when no frame has a hand.
   * @param {Float32Array[]} frames
   */
  async recognizeLandmarks(frames) {
    const t0 = performance.now();
    if (frames.length === 0) throw new Error("landmarks: no frames");
    const rate = handRate(frames, this.skel);
    if (rate === 0) throw new NoSigningError(`no hand found in any of the ${frames.length} frames: nobody signs`);
    const feats = computeFeatures(frames, this.features, this.skel);
    const t1 = performance.now();
    const out = await this.run(feats.features, feats.mask, feats.frames);
    const probs = softmax(out.logits);
    const t2 = performance.now();
    const result = this.decide(probs, frames.length, rate);
    result.embedding = out.embedding; // Float32Array (E) or null: vocab.applyVocabulary
    result.timings = { features_ms: t1 - t0, model_ms: t2 - t1, total_ms: t2 - t0 };
    return result;
  }

  /** The decision on class probabilities (Recognizer._decide). */
  decide(probs, frames, hands_rate) {
    // A stable sort on -p, as np.argsort(-probs, kind="stable").
    const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
    const top = order.slice(0, this.topK).map((i) => ({ label: this.labels[i], probability: round6(probs[i]) }));
    const best = top[0];
    const rejected = best.label === NONE_LABEL || best.probability < this.rejectThreshold;
    return {
      label: rejected ? NONE_LABEL : best.label,
      confidence: best.probability,
      rejected,
      top_k: top,
      probabilities: probs,
      frames,
      hands_rate: Math.round(hands_rate * 1e4) / 1e4,
    };
  }
}
