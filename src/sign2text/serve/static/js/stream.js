// A port of sign2text.runtime.stream.StreamRecognizer: a stream of landmark frames ->
// words, one per signing segment. Same states, thresholds and order of checks as the
// Python class (see its module docstring); keep them in step (tests/browser checks
// parity). No DOM.
//
// 1. gate activity: a segment starts when a hand appears after a rest (hands gone for
//    gapFrames frames, as at the start of a stream) or when a visible wrist moves faster
//    than moveSpeed (shoulder widths / s) for onsetFrames frames in a row; preRoll frames
//    before the onset are kept;
// 2. buffer the segment; 3. end it when the hands are gone for gapFrames frames, or
//    visible but slower than restSpeed for stillS seconds, or at maxWindowS;
// 4. classify it and emit a word unless rejected or _none_;
// 5. hysteresis: after a segment cut by the max window, nothing starts until the
//    activity drops.

export const NONE_LABEL = "_none_";

/** StreamConfig defaults (runtime/stream.py); a test checks they match Python's. */
export const DEFAULT_STREAM_CONFIG = Object.freeze({
  move_speed: 0.5,
  rest_speed: 0.25,
  onset_frames: 2,
  gap_frames: 4,
  still_s: 1.0,
  max_window_s: 4.0,
  min_frames: 4,
  pre_roll: 2,
  default_scale: 0.2,
});

/** Raised by a classifier when no frame has a hand (sign2text.errors.NoSigningError). */
export class NoSigningError extends Error {
  constructor(message) {
    super(message);
    this.name = "NoSigningError";
  }
}

const IDLE = "idle";
const ACTIVE = "active";
const COOLDOWN = "cooldown";

/**
 * @typedef {{label: string, confidence: number, start_s: number, end_s: number}} WordEvent
 * @typedef {{start_s: number, end_s: number, frames: number, reason: string,
 *   label: string|null, emitted: boolean}} Segment
 * @typedef {{recognizeLandmarks(frames: Float32Array[]): Promise<{label: string,
 *   confidence: number, rejected: boolean}>}} LandmarkClassifier
 */

export class StreamRecognizer {
  /**
   * @param {LandmarkClassifier} classifier
   * @param {import("./skeleton.js").Skeleton} skel
   * @param {Partial<typeof DEFAULT_STREAM_CONFIG>} [config]
   */
  constructor(classifier, skel, config = {}) {
    const c = { ...DEFAULT_STREAM_CONFIG, ...config };
    if (c.onset_frames < 1 || c.gap_frames < 1 || c.min_frames < 1) {
      throw new Error("onset_frames, gap_frames and min_frames must be >= 1");
    }
    if (!(c.rest_speed > 0 && c.rest_speed <= c.move_speed)) throw new Error("need 0 < rest_speed <= move_speed");
    if (c.max_window_s <= 0 || c.still_s <= 0 || c.pre_roll < 0) {
      throw new Error("max_window_s and still_s must be > 0, pre_roll >= 0");
    }
    this.classifier = classifier;
    this.config = Object.freeze(c);
    this.nDims = skel.nDims;
    this.wrists = [skel.leftHand.start, skel.rightHand.start];
    this.shoulders = [
      skel.pose.start + skel.poseIndex.left_shoulder,
      skel.pose.start + skel.poseIndex.right_shoulder,
    ];
    this.nValues = skel.nPoints * skel.nDims;
    /** @type {Segment[]} every closed segment */
    this.segments = [];
    this.reset();
  }

  /** Forget the stream (state, buffers, previous frame); keep `segments`. */
  reset() {
    const c = this.config;
    this.state = IDLE;
    this.recent = []; // a deque of at most preRoll + onsetFrames frames
    this.buf = [];
    this.prevWrists = null;
    this.prevT = null;
    this.scale = c.default_scale;
    this.absent = c.gap_frames; // a stream starts at rest
    this.moving = 0;
    this.stillS = 0.0;
    this.lastHandT = 0.0;
  }

  /** Wrist (x, y) of both hands: [lx, ly, rx, ry] (NaN when missing). */
  wristXY(lm) {
    const N = this.nDims;
    const [l, r] = this.wrists;
    return [lm[l * N], lm[l * N + 1], lm[r * N], lm[r * N + 1]];
  }

  hasHand(lm) {
    const N = this.nDims;
    return this.wrists.some((w) => !Number.isNaN(lm[w * N]));
  }

  /** (hands present, wrist speed in shoulder widths / s, a hand just appeared). (_measure) */
  measure(lm, t) {
    const N = this.nDims;
    const wrists = this.wristXY(lm);
    const seen = [0, 1].map((h) => !Number.isNaN(wrists[2 * h]) && !Number.isNaN(wrists[2 * h + 1]));
    const [a, b] = this.shoulders;
    const sh = [lm[a * N], lm[a * N + 1], lm[b * N], lm[b * N + 1]];
    if (!sh.some((v) => Number.isNaN(v))) {
      const width = Math.fround(Math.hypot(sh[0] - sh[2], sh[1] - sh[3]));
      // Python: `if self._prev_t` is false for None and for 0.0 alike.
      if (width > 1e-3) this.scale = this.prevT ? 0.8 * this.scale + 0.2 * width : width;
    }
    let speed = 0.0;
    let appeared = false;
    if (this.prevWrists !== null && this.prevT !== null) {
      const dt = Math.max(t - this.prevT, 1e-3);
      const p = this.prevWrists;
      let step = -1;
      for (let h = 0; h < 2; h++) {
        const prevSeen = !Number.isNaN(p[2 * h]) && !Number.isNaN(p[2 * h + 1]);
        if (seen[h] && prevSeen) {
          const s = Math.fround(Math.hypot(wrists[2 * h] - p[2 * h], wrists[2 * h + 1] - p[2 * h + 1]));
          step = Math.max(step, s);
        }
      }
      if (step >= 0) speed = step / dt / this.scale;
    }
    const present = seen[0] || seen[1];
    if (present && this.absent >= this.config.gap_frames) appeared = true;
    this.prevWrists = wrists;
    this.prevT = t;
    return { present, speed, appeared };
  }

  /**
   * Feed one frame (543 * 3 values) taken at `t` seconds; resolves to the words it
   * completed. (push)
   * @param {Float32Array} landmarks
   * @param {number} t
   * @returns {Promise<WordEvent[]>}
   */
  async push(landmarks, t) {
    if (landmarks.length !== this.nValues) {
      throw new Error(`stream frame must have ${this.nValues} values, got ${landmarks.length}`);
    }
    const lm = landmarks instanceof Float32Array ? landmarks : Float32Array.from(landmarks);
    const c = this.config;
    const dt = this.prevT === null ? 0.0 : Math.max(t - this.prevT, 0.0);
    const { present, speed, appeared } = this.measure(lm, t);
    this.absent = present ? 0 : this.absent + 1;
    this.moving = present && speed >= c.move_speed ? this.moving + 1 : 0;
    this.stillS = present && speed < c.rest_speed ? this.stillS + dt : 0.0;
    if (present) this.lastHandT = t;
    const frame = { lm, t };
    let events = [];
    if (this.state === IDLE) {
      this.recent.push(frame);
      if (this.recent.length > c.pre_roll + c.onset_frames) this.recent.shift();
      if (appeared || this.moving >= c.onset_frames) {
        const keep = (appeared ? 1 : c.onset_frames) + c.pre_roll;
        this.buf = this.recent.slice(-keep);
        this.state = ACTIVE;
        this.stillS = 0.0;
        this.recent = [];
      }
    } else if (this.state === ACTIVE) {
      this.buf.push(frame);
      let reason = null;
      if (this.absent >= c.gap_frames) reason = "rest";
      else if (this.stillS >= c.still_s) reason = "still";
      else if (t - this.buf[0].t >= c.max_window_s) reason = "max_window";
      if (reason !== null) {
        events = events.concat(await this.close(reason));
        this.state = reason === "max_window" ? COOLDOWN : IDLE;
      }
    } else if (this.absent >= c.gap_frames || this.stillS >= c.still_s) {
      // COOLDOWN
      this.state = IDLE;
      this.moving = 0;
    }
    return events;
  }

  /** End of stream: classify a segment still open. (flush) */
  async flush() {
    const events = this.state === ACTIVE ? await this.close("flush") : [];
    this.state = IDLE;
    return events;
  }

  /** Close the buffered segment and classify it. (_close) */
  async close(reason) {
    let frames = this.buf;
    this.buf = [];
    // Drop the trailing frames without hands (the rest that ended the segment).
    while (frames.length && !this.hasHand(frames[frames.length - 1].lm)) frames = frames.slice(0, -1);
    if (!frames.length) return [];
    const start = frames[0].t;
    const end = frames[frames.length - 1].t;
    const withHands = frames.filter((f) => this.hasHand(f.lm)).length;
    if (withHands < this.config.min_frames) return [];
    let result;
    try {
      result = await this.classifier.recognizeLandmarks(frames.map((f) => f.lm));
    } catch (err) {
      if (err instanceof NoSigningError) {
        this.segments.push({ start_s: start, end_s: end, frames: frames.length, reason, label: null, emitted: false });
        return [];
      }
      throw err;
    }
    const emit = !result.rejected && result.label !== NONE_LABEL;
    this.segments.push({ start_s: start, end_s: end, frames: frames.length, reason, label: result.label, emitted: emit });
    if (!emit) return [];
    return [{ label: result.label, confidence: result.confidence, start_s: start, end_s: end }];
  }
}

/**
 * Run a whole landmark sequence at `fps` through a StreamRecognizer. (recognize_stream)
 * @returns {Promise<{events: WordEvent[], segments: Segment[]}>}
 */
export async function recognizeStream(classifier, skel, frames, fps, config = {}) {
  if (!Number.isFinite(fps) || fps <= 0) throw new Error(`fps must be positive, got ${fps}`);
  const stream = new StreamRecognizer(classifier, skel, config);
  let events = [];
  for (let i = 0; i < frames.length; i++) events = events.concat(await stream.push(frames[i], i / fps));
  events = events.concat(await stream.flush());
  return { events, segments: stream.segments };
}
