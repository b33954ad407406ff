// Teach mode: a new word from a few camera examples, entirely in this browser.
//
// Each example goes through the pipeline of live mode: camera frame -> MediaPipe
// Holistic -> a (543, 3) landmark frame -> the activity gate of stream.js. The gate's
// segments are caught instead of classified; the example is the first segment that
// starts after the recording began (the hands were down at "Sign now") and ends with a
// rest or a still pause, else, after EXAMPLE_MAX_S, the longest segment seen. Its
// embedding (classifier.js, the model's `embedding` output) is computed at once, so
// adding the word after the last example is one model run, vocab.js arithmetic and an
// IndexedDB write (timed and shown).
//
// The vocabulary (vocab.js, file format "sign2text-vocab/1", the same as the CLI's) is
// kept in IndexedDB, one per model file (key: the model's SHA-256); live mode applies it
// to every segment. Export downloads the JSON file; import refuses a file made for
// another model. Nothing is sent anywhere.

import { describeError } from "./api.js";
import { resultsToFrame } from "./landmarks.js";
import { cameraMessage, closeCamera, nextFrame, openCamera } from "./live.js";
import { NONE_LABEL, NoSigningError, StreamRecognizer } from "./stream.js";
import { MAX_EXAMPLES, UserVocabulary, VocabularyError } from "./vocab.js";

export const MIN_EXAMPLES = 3;
export const MAX_RECORDED = 10;
export const EXAMPLE_MAX_S = 5.0; // the longest wait for one example
const COUNTDOWN_S = 3; // before the first example
const BETWEEN_S = 2; // between examples: time to lower the hands
const RETRIES = 2; // examples without signing that are asked again; the next one gives up
const DEFAULT_DIM = 128;

// --- storage: IndexedDB, one vocabulary document per model SHA-256 ----------------------

const DB_NAME = "sign2text";
const STORE = "vocabularies";

function done(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export class VocabStore {
  constructor() {
    this.db = null;
  }

  async open() {
    if (!this.db) {
      if (!globalThis.indexedDB) throw new Error("this browser has no IndexedDB (private window?)");
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      this.db = await done(req);
    }
    return this.db;
  }

  /** The stored document of this model, or null. */
  async get(sha256) {
    const db = await this.open();
    const doc = await done(db.transaction(STORE, "readonly").objectStore(STORE).get(sha256));
    return doc ?? null;
  }

  /** Store the document; resolves once the transaction is committed. */
  async put(sha256, doc) {
    const db = await this.open();
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(doc, sha256);
    await new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("IndexedDB write aborted"));
    });
  }
}

// --- segmentation ----------------------------------------------------------------------

/** Stands in for the classifier in a StreamRecognizer: keeps each segment's frames. */
class SegmentCatcher {
  constructor() {
    this.caught = [];
  }

  async recognizeLandmarks(frames) {
    this.caught.push(frames);
    return { label: NONE_LABEL, confidence: 0, rejected: true };
  }
}

/**
 * The example among the gate's segments: the first complete one (started after the first
 * frame, closed by the gate), else at the end the longest one; null when none.
 */
function chooseSegment(stream, catcher, firstT, final) {
  const segs = stream.segments.map((s, i) => ({ ...s, lm: catcher.caught[i] }));
  const complete = segs.find((s) => s.start_s > firstT && s.reason !== "flush");
  if (complete || !final) return complete ?? null;
  return segs.reduce((best, s) => (!best || s.lm.length > best.lm.length ? s : best), null);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- the page ----------------------------------------------------------------------------

export class TeachMode {
  /**
   * @param {Record<string, HTMLElement>} el the page's teach-mode elements
   * @param {import("./live.js").LiveMode} live shares the model, Holistic and drawing
   */
  constructor(el, live) {
    this.el = el;
    this.live = live;
    this.store = new VocabStore();
    this.vocab = null; // UserVocabulary of the loaded model
    this.sha = null;
    this.loading = null;
    this.recording = false;
    this.mediaStream = null;
    el.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.record();
    });
    el.cancel.addEventListener("click", () => this.cancel());
    el.exportButton.addEventListener("click", () => this.exportFile());
    el.importInput.addEventListener("change", () => {
      const file = el.importInput.files && el.importInput.files[0];
      if (file) this.importFile(file).finally(() => (el.importInput.value = ""));
    });
    this.render();
  }

  setStatus(text) {
    this.el.status.textContent = text;
  }

  showError(text) {
    this.el.error.textContent = text;
    this.el.error.hidden = !text;
  }

  vocabStatus(text, error = "") {
    this.el.vocabStatus.textContent = text;
    this.el.vocabError.textContent = error;
    this.el.vocabError.hidden = !error;
  }

  /** Load the model (not Holistic) and this model's stored vocabulary; idempotent. */
  loadVocabulary() {
    if (!this.loading) {
      this.loading = (async () => {
        const { classifier } = await this.live.loadModel();
        if (!classifier.modelSha256) {
          throw new Error("this page cannot hash the model here (Web Crypto needs https or localhost)");
        }
        if (!classifier.hasEmbedding) throw new Error("this model has no embedding output: it cannot learn words");
        this.sha = classifier.modelSha256;
        let doc = null;
        try {
          doc = await this.store.get(this.sha);
        } catch (err) {
          this.vocabStatus("", `Could not read the words stored on this device: ${describeError(err)}`);
        }
        this.vocab = doc ? UserVocabulary.fromJSON(doc) : null;
        this.publish();
        return this.vocab;
      })().catch((err) => {
        this.loading = null;
        throw err;
      });
    }
    return this.loading;
  }

  /** Show the tab: load the vocabulary, say so when it fails. */
  async show() {
    if (this.vocab || this.recording) return;
    this.vocabStatus("Loading the model…");
    try {
      await this.loadVocabulary();
      this.vocabStatus(""); // render() says what the list holds
      this.render();
    } catch (err) {
      this.vocabStatus("", `Could not load the model: ${describeError(err)}`);
    }
  }

  /** Hand the vocabulary to live mode and redraw the list. */
  publish() {
    this.live.vocabulary = this.vocab;
    this.render();
  }

  emptyVocabulary(dim) {
    const { classifier } = this.live.runtime;
    return new UserVocabulary(this.sha, classifier.labels, dim);
  }

  async save() {
    await this.store.put(this.sha, this.vocab.toJSON());
  }

  render() {
    const { words, summary, exportButton } = this.el;
    const names = this.vocab ? this.vocab.list() : [];
    summary.textContent = names.length
      ? `${names.length} word${names.length === 1 ? "" : "s"} taught on this device.`
      : "No words taught yet.";
    exportButton.disabled = !names.length;
    words.replaceChildren(
      ...names.map((w) => {
        const li = document.createElement("li");
        const name = document.createElement("span");
        name.className = "word";
        name.textContent = w;
        name.dataset.word = w;
        const n = this.vocab.words.get(w).length;
        const meta = document.createElement("span");
        meta.className = "meta";
        meta.textContent = `${n} example${n === 1 ? "" : "s"}`;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "Remove";
        remove.setAttribute("aria-label", `Remove the word ${w}`);
        remove.addEventListener("click", () => this.removeWord(w));
        li.append(name, meta, remove);
        return li;
      }),
    );
  }

  async removeWord(word) {
    try {
      this.vocab.remove(word);
      await this.save();
      this.publish();
      this.vocabStatus(`Removed “${word}”.`);
      this.el.word.focus();
    } catch (err) {
      this.vocabStatus("", `Could not remove “${word}”: ${describeError(err)}`);
    }
  }

  // --- recording ---------------------------------------------------------------------

  setBusy(busy) {
    const el = this.el;
    this.recording = busy;
    el.start.disabled = busy;
    el.word.disabled = busy;
    el.count.disabled = busy;
    el.cancel.disabled = !busy;
    el.stage.dataset.state = busy ? "running" : "stopped";
  }

  cancel() {
    if (!this.recording) return;
    this.recording = false;
    this.setStatus("Cancelled: no word was added.");
  }

  releaseCamera() {
    closeCamera(this.mediaStream, this.el.video);
    this.mediaStream = null;
    const c = this.el.canvas;
    c.getContext("2d").clearRect(0, 0, c.width, c.height);
  }

  async countdown(seconds, what) {
    for (let s = seconds; s > 0 && this.recording; s--) {
      this.setStatus(`${what} in ${s}…`);
      await sleep(1000);
    }
  }

  /** Record one example; resolves to its landmark frames, or null (none / cancelled). */
  async recordExample(k, n) {
    const { video } = this.el;
    const { runtime, holistic } = await this.live.load();
    const skel = runtime.skel;
    const catcher = new SegmentCatcher();
    const stream = new StreamRecognizer(catcher, skel);
    this.setStatus(`Sign now: example ${k} of ${n}.`);
    const t0 = performance.now();
    let firstT = null;
    let pick = null;
    while (this.recording) {
      await nextFrame(video);
      if (!this.recording) break;
      if (video.readyState < 2) continue;
      const t = (performance.now() - t0) / 1000;
      if (t >= EXAMPLE_MAX_S) break;
      const frame = resultsToFrame(await holistic.process(video), skel);
      if (!this.recording) break;
      if (firstT === null) firstT = t;
      this.live.draw(this.el.canvas, video, frame);
      this.el.progress.textContent = `Example ${k} of ${n}: ${t.toFixed(1)} s`;
      await stream.push(frame, t);
      pick = chooseSegment(stream, catcher, firstT, false);
      if (pick) break;
    }
    if (!this.recording) return null;
    if (!pick) {
      await stream.flush();
      pick = chooseSegment(stream, catcher, firstT ?? 0, true);
    }
    return pick;
  }

  /** The unit embedding of one example's frames (throws NoSigningError). */
  async embed(frames) {
    const result = await this.live.runtime.classifier.recognizeLandmarks(frames);
    const e = result.embedding;
    if (!e || !Array.from(e).every(Number.isFinite) || Array.from(e).every((x) => x === 0)) {
      throw new NoSigningError("the model saw no usable hand movement in this example");
    }
    return Array.from(e);
  }

  async record() {
    if (this.recording) return;
    const el = this.el;
    this.showError("");
    el.added.textContent = "";
    delete el.added.dataset.addMs;
    let word;
    const n = Math.max(MIN_EXAMPLES, Math.min(MAX_RECORDED, Number(el.count.value) | 0 || MIN_EXAMPLES));
    this.setBusy(true);
    try {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw new Error("This browser gives no camera access here: open the page over https or on localhost.");
      }
      await this.loadVocabulary();
      word = (this.vocab || this.emptyVocabulary(DEFAULT_DIM)).checkWord(el.word.value);
      const have = this.vocab && this.vocab.words.has(word) ? this.vocab.words.get(word).length : 0;
      if (have + n > MAX_EXAMPLES) throw new VocabularyError(`“${word}” would have more than ${MAX_EXAMPLES} examples`);
      await this.live.load((text) => this.setStatus(text));
      this.setStatus("Starting the camera…");
      this.mediaStream = await openCamera(el.video);
      await this.live.holistic.reset();
    } catch (err) {
      const text = err instanceof VocabularyError ? err.message : err && err.name ? cameraMessage(err) : describeError(err);
      this.showError(text);
      this.setStatus("");
      this.releaseCamera();
      this.setBusy(false);
      el.word.focus();
      return;
    }
    const examples = [];
    el.examples.replaceChildren();
    let misses = 0;
    let lastEnd = 0;
    try {
      await this.countdown(COUNTDOWN_S, `Get ready to sign “${word}”: example 1 of ${n}`);
      while (this.recording && examples.length < n) {
        const k = examples.length + 1;
        const pick = await this.recordExample(k, n);
        lastEnd = performance.now();
        if (!this.recording) break;
        let embedding = null;
        let why = "no signing was seen";
        if (pick) {
          try {
            embedding = await this.embed(pick.lm);
          } catch (err) {
            if (!(err instanceof NoSigningError)) throw err;
            why = err.message;
          }
        }
        if (!embedding) {
          misses += 1;
          if (misses > RETRIES) throw new NoSigningError(`Example ${k}: ${why}. No word was added; try again.`);
          await this.countdown(BETWEEN_S, `Example ${k}: ${why}. Again`);
          continue;
        }
        misses = 0;
        examples.push(embedding);
        const li = document.createElement("li");
        li.textContent = `Example ${k}: ${(pick.end_s - pick.start_s).toFixed(1)} s, ${pick.lm.length} frames`;
        el.examples.append(li);
        if (examples.length < n) await this.countdown(BETWEEN_S, `Lower your hands. Example ${k + 1} of ${n}`);
      }
      if (!this.recording) return;
      // Adding the word: from the end of the last example to the word stored (timed).
      if (!this.vocab) this.vocab = this.emptyVocabulary(examples[0].length);
      const stored = this.vocab.add(word, examples, { append: true });
      await this.save();
      this.publish();
      const addMs = performance.now() - lastEnd;
      el.added.dataset.addMs = addMs.toFixed(1);
      const total = this.vocab.words.get(stored).length;
      el.added.textContent = `Added “${stored}” (${total} examples) in ${Math.round(addMs)} ms after the last example. Live mode now recognizes it.`;
      this.setStatus(`Done: “${stored}” is one of your words.`);
      el.word.value = "";
    } catch (err) {
      this.showError(err instanceof VocabularyError || err instanceof NoSigningError ? err.message : describeError(err));
      this.setStatus("");
    } finally {
      this.releaseCamera();
      el.progress.textContent = "";
      this.setBusy(false);
    }
  }

  // --- files ---------------------------------------------------------------------------

  exportFile() {
    if (!this.vocab || !this.vocab.words.size) return;
    const blob = new Blob([`${JSON.stringify(this.vocab.toJSON())}\n`], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = "sign2text-vocabulary.json";
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
    this.vocabStatus(`Exported ${this.vocab.words.size} words to sign2text-vocabulary.json.`);
  }

  async importFile(file) {
    this.vocabStatus(`Reading ${file.name}…`);
    try {
      await this.loadVocabulary();
      let doc;
      try {
        doc = JSON.parse(await file.text());
      } catch {
        throw new VocabularyError(`${file.name} is not a Sign2Text vocabulary file (not valid JSON)`);
      }
      const incoming = UserVocabulary.fromJSON(doc);
      if (incoming.modelSha256 !== this.sha) {
        throw new VocabularyError(
          `${file.name} was made for another model (sha256 ${incoming.modelSha256.slice(0, 12)}…, ` +
            `this page's model is ${this.sha.slice(0, 12)}…): its words cannot be used with this model. ` +
            "Teach the words again here.",
          "vocabulary_model_mismatch",
        );
      }
      const next = this.emptyVocabulary(incoming.embeddingDim);
      if (this.vocab) for (const [w, ex] of this.vocab.words) next.add(w, ex);
      const replaced = incoming.list().filter((w) => next.words.has(w));
      for (const w of incoming.list()) next.add(w, incoming.words.get(w), { replace: true });
      this.vocab = next;
      await this.save();
      this.publish();
      const again = replaced.length ? ` (replaced: ${replaced.join(", ")})` : "";
      this.vocabStatus(`Imported ${incoming.words.size} words from ${file.name}: ${incoming.list().join(", ")}${again}.`);
    } catch (err) {
      const why = err instanceof VocabularyError ? err.message : describeError(err);
      this.vocabStatus("", `Could not import ${file.name}: ${why}`);
    }
  }
}
