// A port of sign2text.features.core.compute_features: landmarks (T, 543, 3) -> model
// features (T', F) float32 plus a frame mask (T'). Each function below follows the
// Python function of the same name; keep them in step (tests/browser checks parity).
// No DOM: usable in a page, a worker or Node.
//
// A landmark frame is a Float32Array(543 * 3) (x, y, z per point, NaN = not detected).
// Internally a sequence is one Float32Array of T * 543 * dims values (frame-major).

import { subset } from "./skeleton.js";

const WRIST = 0; // index of the wrist within a hand (features/core.py: _WRIST)
const MIDDLE_MCP = 9; // middle-finger knuckle (features/core.py: _MIDDLE_MCP)
const HAND_POINTS = 21;

/**
 * The feature settings of a model, as stored in its metadata (FeatureConfig.to_dict()).
 * @typedef {{subsets: string[], dims: number, frames: number|null, trim: boolean,
 *   mirror_left_dominant: boolean, hand_shape: boolean, velocities: boolean}} FeatureConfig
 */

/** Check a feature config as FeatureConfig.__post_init__ does. */
export function checkConfig(cfg, skel) {
  if (cfg.dims !== 2 && cfg.dims !== 3) throw new Error(`features.dims must be 2 or 3, got ${cfg.dims}`);
  if (cfg.frames !== null && cfg.frames !== undefined && cfg.frames < 2) {
    throw new Error(`features.frames must be >= 2 or null, got ${cfg.frames}`);
  }
  subset(skel, cfg.subsets); // validates the names
}

/** Do the features read a face-mesh point? (reads_face; if not, Holistic can skip the face.) */
export function readsFace(cfg, skel) {
  return subset(skel, cfg.subsets).some((i) => i >= skel.face.start && i < skel.face.stop);
}

/** Number of feature columns (len(feature_names(cfg))). */
export function featureDim(cfg, skel) {
  const per = subset(skel, cfg.subsets).length + (cfg.hand_shape ? 2 * HAND_POINTS : 0);
  return per * cfg.dims * (cfg.velocities ? 2 : 1);
}

// --- helpers on the flat (T, P, D) layout ------------------------------------------

/** Was the hand part seen in frame t (any of its points has an x)? (_hands_seen) */
function handSeen(lm, t, hand, P, D) {
  for (let j = hand.start; j < hand.stop; j++) {
    if (!Number.isNaN(lm[(t * P + j) * D])) return true;
  }
  return false;
}

function handsSeen(lm, T, skel, D) {
  const P = skel.nPoints;
  const left = new Uint8Array(T);
  const right = new Uint8Array(T);
  for (let t = 0; t < T; t++) {
    left[t] = handSeen(lm, t, skel.leftHand, P, D) ? 1 : 0;
    right[t] = handSeen(lm, t, skel.rightHand, P, D) ? 1 : 0;
  }
  return { left, right };
}

/** Frames from the first to the last one where a hand was seen (all if none). (trim_rest) */
export function trimRest(lm, T, skel, D) {
  const { left, right } = handsSeen(lm, T, skel, D);
  let first = -1;
  let last = -1;
  for (let t = 0; t < T; t++) {
    if (left[t] || right[t]) {
      if (first < 0) first = t;
      last = t;
    }
  }
  if (first < 0) return { lm, T };
  const stride = skel.nPoints * D;
  return { lm: lm.slice(first * stride, (last + 1) * stride), T: last - first + 1 };
}

/** More frames with the left hand than with the right one? (is_left_dominant) */
export function isLeftDominant(lm, T, skel, D) {
  const { left, right } = handsSeen(lm, T, skel, D);
  let l = 0;
  let r = 0;
  for (let t = 0; t < T; t++) {
    l += left[t];
    r += right[t];
  }
  return l > r;
}

/** Horizontal flip with left/right swapped through the skeleton's mirror map. (mirror) */
export function mirror(lm, T, skel, D) {
  const P = skel.nPoints;
  const map = skel.mirrorMap;
  const out = new Float32Array(lm.length);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < P; i++) {
      const src = (t * P + map[i]) * D;
      const dst = (t * P + i) * D;
      out[dst] = 1.0 - lm[src];
      for (let d = 1; d < D; d++) out[dst + d] = lm[src + d];
    }
  }
  return out;
}

/** Mean of the non-NaN values (NaN when there is none). (_nanmean) */
function nanmean(values) {
  let total = 0;
  let count = 0;
  for (const v of values) {
    if (!Number.isNaN(v)) {
      total += v;
      count += 1;
    }
  }
  return count > 0 ? total / count : Number.NaN;
}

function median(values) {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/**
 * Per-clip centre (dims) and scale from the shoulders, else from the hands.
 * (centre_and_scale: centre = mean mid-shoulder, scale = median shoulder width; without
 * both shoulders, the mean hand point and 4x the mean wrist-to-middle-knuckle length.)
 */
export function centreAndScale(lm, T, skel, D) {
  const P = skel.nPoints;
  const ls = skel.pose.start + skel.poseIndex.left_shoulder;
  const rs = skel.pose.start + skel.poseIndex.right_shoulder;
  const mids = [];
  const widths = [];
  for (let t = 0; t < T; t++) {
    const a = (t * P + ls) * D;
    const b = (t * P + rs) * D;
    let ok = true;
    for (let d = 0; d < D; d++) {
      if (Number.isNaN(lm[a + d]) || Number.isNaN(lm[b + d])) ok = false;
    }
    if (!ok) continue;
    const mid = new Float64Array(D);
    for (let d = 0; d < D; d++) mid[d] = Math.fround((lm[a + d] + lm[b + d]) / 2);
    mids.push(mid);
    widths.push(Math.fround(Math.hypot(lm[a] - lm[b], lm[a + 1] - lm[b + 1])));
  }
  if (mids.length > 0) {
    const scale = median(widths);
    if (scale > 1e-3) {
      const centre = new Float64Array(D);
      for (let d = 0; d < D; d++) centre[d] = Math.fround(nanmean(mids.map((m) => m[d])));
      return { centre, scale };
    }
  }
  // No usable pose: centre on the hands.
  const centre = new Float64Array(D);
  for (let d = 0; d < D; d++) {
    const vals = [];
    for (let t = 0; t < T; t++) {
      for (const hand of [skel.leftHand, skel.rightHand]) {
        for (let j = hand.start; j < hand.stop; j++) vals.push(lm[(t * P + j) * D + d]);
      }
    }
    centre[d] = Math.fround(nanmean(vals));
  }
  if (centre.some((v) => Number.isNaN(v))) return { centre: new Float64Array(D).fill(0.5), scale: 1.0 };
  const sizes = [];
  for (const hand of [skel.leftHand, skel.rightHand]) {
    for (let t = 0; t < T; t++) {
      const w = (t * P + hand.start + WRIST) * D;
      const m = (t * P + hand.start + MIDDLE_MCP) * D;
      sizes.push(Math.fround(Math.hypot(lm[m] - lm[w], lm[m + 1] - lm[w + 1])));
    }
  }
  const size = Math.fround(nanmean(sizes));
  const scale = Number.isFinite(size) && size > 1e-4 ? size * 4 : 1.0;
  return { centre, scale };
}

/**
 * Linear interpolation in time to `frames` frames; where one neighbour is missing the
 * nearer frame's value is taken (NaN if that one is missing too). (resample)
 * @param {Float32Array} x T * stride values
 */
export function resample(x, T, stride, frames) {
  if (T === frames) return x;
  const out = new Float32Array(frames * stride);
  if (T === 1) {
    for (let f = 0; f < frames; f++) out.set(x.subarray(0, stride), f * stride);
    return out;
  }
  const step = (T - 1) / (frames - 1); // np.linspace(0, T - 1, frames)
  for (let f = 0; f < frames; f++) {
    const pos = f === frames - 1 ? T - 1 : f * step;
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, T - 1);
    const w = Math.fround(pos - lo); // cast to the array's float32, as in Python
    for (let k = 0; k < stride; k++) {
      const a = x[lo * stride + k];
      const b = x[hi * stride + k];
      if (Number.isNaN(a) || Number.isNaN(b)) out[f * stride + k] = w < 0.5 ? a : b;
      else out[f * stride + k] = Math.fround(a * Math.fround(1 - w)) + Math.fround(b * w);
    }
  }
  return out;
}

/**
 * Features of a landmark sequence. (compute_features)
 * @param {Float32Array[]} frames T frames of 543 * 3 values (NaN = missing)
 * @param {FeatureConfig} cfg the model's feature settings (from /v1/model)
 * @param {import("./skeleton.js").Skeleton} skel
 * @returns {{features: Float32Array, mask: Uint8Array, frames: number, dim: number}}
 *   features (T', F) row-major; mask[t] = 1 when frame t has a hand.
 */
export function computeFeatures(frames, cfg, skel) {
  const P = skel.nPoints;
  const N = skel.nDims;
  const D = cfg.dims;
  if (frames.length === 0) throw new Error("landmarks: no frames");
  // lm = landmarks[..., :dims] as float32
  let T = frames.length;
  let lm = new Float32Array(T * P * D);
  for (let t = 0; t < T; t++) {
    const f = frames[t];
    if (f.length !== P * N) throw new Error(`landmarks: frame ${t} has ${f.length} values, expected ${P * N}`);
    for (let i = 0; i < P; i++) {
      for (let d = 0; d < D; d++) lm[(t * P + i) * D + d] = f[i * N + d];
    }
  }
  if (cfg.trim) ({ lm, T } = trimRest(lm, T, skel, D));
  if (cfg.mirror_left_dominant && isLeftDominant(lm, T, skel, D)) lm = mirror(lm, T, skel, D);
  const { centre, scale } = centreAndScale(lm, T, skel, D);
  if (cfg.frames !== null && cfg.frames !== undefined) {
    lm = resample(lm, T, P * D, cfg.frames);
    T = cfg.frames;
  }
  const { left, right } = handsSeen(lm, T, skel, D);
  const mask = new Uint8Array(T);
  for (let t = 0; t < T; t++) mask[t] = left[t] || right[t] ? 1 : 0;

  const idx = subset(skel, cfg.subsets);
  const base = (idx.length + (cfg.hand_shape ? 2 * HAND_POINTS : 0)) * D;
  const F = base * (cfg.velocities ? 2 : 1);
  // Raw (NaN kept) per-frame features first: velocities are differences of these.
  const raw = new Float32Array(T * base);
  for (let t = 0; t < T; t++) {
    let c = t * base;
    // Positions: (lm[:, idx] - centre) / scale
    for (const i of idx) {
      for (let d = 0; d < D; d++) raw[c++] = Math.fround(lm[(t * P + i) * D + d] - centre[d]) / scale;
    }
    // Hand shapes: each hand relative to its wrist, over its wrist-to-middle-knuckle length.
    if (cfg.hand_shape) {
      for (const hand of [skel.leftHand, skel.rightHand]) {
        const w = (t * P + hand.start + WRIST) * D;
        const m = (t * P + hand.start + MIDDLE_MCP) * D;
        let size = Math.fround(
          Math.hypot(Math.fround(lm[m] - lm[w]), Math.fround(lm[m + 1] - lm[w + 1])),
        );
        if (!(size > 1e-6)) size = Number.NaN;
        for (let j = 0; j < HAND_POINTS; j++) {
          const p = (t * P + hand.start + j) * D;
          for (let d = 0; d < D; d++) raw[c++] = Math.fround(lm[p + d] - lm[w + d]) / size;
        }
      }
    }
  }
  const features = new Float32Array(T * F);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < base; k++) {
      const v = raw[t * base + k];
      features[t * F + k] = clean(v);
      if (cfg.velocities) features[t * F + base + k] = t === 0 ? 0 : clean(v - raw[(t - 1) * base + k]);
    }
  }
  return { features, mask, frames: T, dim: F };
}

/** np.nan_to_num(nan=0, posinf=0, neginf=0) then clip to [-50, 50]. */
function clean(v) {
  if (!Number.isFinite(v)) return 0;
  return v < -50 ? -50 : v > 50 ? 50 : v;
}

/** Fraction of frames with at least one hand. (skeleton.hand_rate) */
export function handRate(frames, skel) {
  if (frames.length === 0) return 0;
  const N = skel.nDims;
  let n = 0;
  for (const f of frames) {
    let seen = false;
    for (const hand of [skel.leftHand, skel.rightHand]) {
      for (let j = hand.start; j < hand.stop && !seen; j++) if (!Number.isNaN(f[j * N])) seen = true;
    }
    if (seen) n += 1;
  }
  return n / frames.length;
}
