// Personal vocabulary: port of sign2text.runtime.vocab (DOM-free; also runs in Node).
// Same file format ("sign2text-vocab/1") and the same arithmetic as Python: a sign's
// similarity s to a user word is its cosine similarity to the word's nearest example
// (USER_MATCH "example" in Python). With the model's built-in
// prototypes (GET /v1/model -> prototypes), a user word wins when its cosine similarity
// s >= PROTOTYPE_THRESHOLD and s > (similarity to the nearest built-in prototype) +
// PROTOTYPE_MARGIN; without them, when s >= SIMILARITY_THRESHOLD and (the built-in
// answer is rejected or s exceeds the built-in top probability by more than
// SIMILARITY_MARGIN).

export const VOCAB_FORMAT = "sign2text-vocab/1";
export const PROTOTYPE_THRESHOLD = 0.6; // sign2text.runtime.vocab.PROTOTYPE_THRESHOLD
export const PROTOTYPE_MARGIN = 0.0; // sign2text.runtime.vocab.PROTOTYPE_MARGIN
export const SIMILARITY_THRESHOLD = 0.65; // sign2text.runtime.vocab.SIMILARITY_THRESHOLD
export const SIMILARITY_MARGIN = 0.2; // sign2text.runtime.vocab.SIMILARITY_MARGIN
export const MAX_EXAMPLES = 50;
const DECIMALS = 1e6;

export class VocabularyError extends Error {
  constructor(message, code = "bad_vocabulary") {
    super(message);
    this.code = code;
  }
}

export function normalize(v) {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  return Array.from(v, (x) => (n > 0 ? x / n : x));
}

/** sign2text.runtime.vocab.decide_by_prototypes */
export function decideByPrototypes(
  similarity,
  builtinSimilarity,
  threshold = PROTOTYPE_THRESHOLD,
  margin = PROTOTYPE_MARGIN,
) {
  return similarity >= threshold && similarity > builtinSimilarity + margin;
}

/** float16 (IEEE 754 half, as a uint16) -> number. */
function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The model's built-in prototypes (ClassPrototypes.to_json: labels, dim, float16 data in
 * base64) as unit rows, or null when the model has none.
 */
export function decodePrototypes(doc) {
  if (!doc) return null;
  const bin = atob(doc.data);
  const n = doc.labels.length;
  if (doc.dtype !== "float16" || bin.length !== 2 * n * doc.dim) {
    throw new Error("model: malformed built-in prototypes");
  }
  const rows = [];
  for (let i = 0; i < n; i++) {
    const row = new Array(doc.dim);
    for (let j = 0; j < doc.dim; j++) {
      const o = 2 * (i * doc.dim + j);
      row[j] = halfToFloat(bin.charCodeAt(o) | (bin.charCodeAt(o + 1) << 8));
    }
    rows.push(normalize(row));
  }
  return { labels: [...doc.labels], rows };
}

/** The largest dot product of the unit vector `e` with one of `rows` (-Infinity for none). */
function maxDot(rows, e) {
  let best = -Infinity;
  for (const row of rows) {
    let s = 0;
    for (let j = 0; j < e.length; j++) s += row[j] * e[j];
    if (s > best) best = s;
  }
  return best;
}

/** sign2text.runtime.vocab.nearest_similarity: cosine to the nearest prototype row. */
export function nearestSimilarity(prototypes, embedding) {
  return maxDot(prototypes.rows, normalize(embedding));
}

/** sign2text.runtime.vocab.decide_by_probability (a model without built-in prototypes) */
export function decideByProbability(
  similarity,
  builtinConfidence,
  builtinRejected,
  threshold = SIMILARITY_THRESHOLD,
  margin = SIMILARITY_MARGIN,
) {
  return similarity >= threshold && (builtinRejected || similarity > builtinConfidence + margin);
}

export class UserVocabulary {
  constructor(modelSha256, labels, embeddingDim, words = {}) {
    this.modelSha256 = modelSha256;
    this.labels = [...labels];
    this.embeddingDim = embeddingDim;
    this.words = new Map();
    for (const [w, ex] of Object.entries(words)) this.add(w, ex);
  }

  checkWord(word) {
    const w = typeof word === "string" ? word.trim() : "";
    if (!w || w.length > 63 || /[\x00-\x1f]/.test(w)) {
      throw new VocabularyError(`bad word ${JSON.stringify(word)}: 1-63 printable characters expected`);
    }
    if (w === "_none_" || this.labels.includes(w)) {
      throw new VocabularyError(`"${w}" is already a built-in word of the model; choose another name`);
    }
    return w;
  }

  add(word, examples, { replace = false, append = false } = {}) {
    const w = this.checkWord(word);
    let ex = examples.map((e) => {
      if (e.length !== this.embeddingDim || !e.every(Number.isFinite)) {
        throw new VocabularyError(`word "${w}": examples of ${this.embeddingDim} finite numbers expected`);
      }
      return normalize(e);
    });
    if (!ex.length || ex.some((e) => e.every((x) => x === 0))) {
      throw new VocabularyError(`word "${w}": examples must be non-zero vectors`);
    }
    if (this.words.has(w)) {
      if (append) ex = [...this.words.get(w), ...ex];
      else if (!replace) throw new VocabularyError(`"${w}" is already a user word`);
    }
    if (ex.length > MAX_EXAMPLES) throw new VocabularyError(`word "${w}": at most ${MAX_EXAMPLES} examples`);
    this.words.set(w, ex);
    return w;
  }

  remove(word) {
    if (!this.words.delete(word)) throw new VocabularyError(`no user word "${word}"`);
  }

  list() {
    return [...this.words.keys()].sort();
  }

  /**
   * [names, similarities]: one embedding vs each user word (sorted names), i.e. its cosine
   * similarity to the word's nearest example (sign2text.runtime.vocab.UserVocabulary.similarities).
   */
  similarities(embedding) {
    const names = this.list();
    const e = normalize(embedding);
    return [names, names.map((w) => maxDot(this.words.get(w), e))];
  }

  /** {word, similarity} of the nearest user word, or null. */
  nearest(embedding) {
    const [names, sims] = this.similarities(embedding);
    if (!names.length) return null;
    let best = 0;
    sims.forEach((s, k) => {
      if (s > sims[best]) best = k;
    });
    return { word: names[best], similarity: sims[best] };
  }

  toJSON() {
    const words = {};
    for (const w of this.list()) {
      words[w] = { examples: this.words.get(w).map((e) => e.map((x) => Math.round(x * DECIMALS) / DECIMALS)) };
    }
    return {
      format: VOCAB_FORMAT,
      model: { sha256: this.modelSha256, labels: this.labels },
      embedding_dim: this.embeddingDim,
      words,
    };
  }

  checkModel(sha256) {
    if (this.modelSha256 !== sha256) {
      throw new VocabularyError(
        "this vocabulary was made for another model: teach the words again for this model",
        "vocabulary_model_mismatch",
      );
    }
  }

  /** Parse and validate a document (sign2text.runtime.vocab.UserVocabulary.from_json). */
  static fromJSON(doc) {
    const bad = (why) => new VocabularyError(`not a Sign2Text vocabulary file (${why})`);
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw bad("a JSON object expected");
    if (doc.format !== VOCAB_FORMAT) throw bad(`format ${JSON.stringify(doc.format)}, expected ${VOCAB_FORMAT}`);
    if (!doc.model || typeof doc.model.sha256 !== "string") throw bad("no model.sha256");
    const dim = doc.embedding_dim;
    if (!Number.isInteger(dim) || dim < 1 || dim > 4096) throw bad("embedding_dim must be a positive integer");
    if (!doc.words || typeof doc.words !== "object" || Array.isArray(doc.words)) throw bad("words must be an object");
    const v = new UserVocabulary(doc.model.sha256, doc.model.labels || [], dim);
    for (const [w, entry] of Object.entries(doc.words)) {
      if (!entry || !Array.isArray(entry.examples) || !entry.examples.length) throw bad(`word "${w}" has no examples`);
      try {
        v.add(w, entry.examples);
      } catch (err) {
        throw bad(err.message);
      }
    }
    return v;
  }
}

/**
 * Apply the vocabulary to one built-in decision (Recognizer._decide with a vocabulary).
 * The user word leads `top_k` in the format of the entries already there: objects
 * `{label, probability}` (classifier.js) or pairs `[label, p]`. A winning result gets
 * `user_word: true`. `prototypes` (decodePrototypes) are the model's built-in ones, or
 * null for a model without them (Recognizer._user_word_wins).
 */
export function applyVocabulary(vocab, result, embedding, prototypes = null) {
  if (!vocab || !embedding || !vocab.words.size) return result;
  const m = vocab.nearest(Array.from(embedding));
  if (!m) return result;
  const wins = prototypes
    ? decideByPrototypes(m.similarity, nearestSimilarity(prototypes, Array.from(embedding)))
    : decideByProbability(m.similarity, result.confidence, result.rejected);
  if (!wins) return result;
  const rest = result.top_k || [];
  const pairs = rest.length > 0 && Array.isArray(rest[0]);
  const lead = pairs ? [m.word, m.similarity] : { label: m.word, probability: m.similarity };
  const topK = [lead, ...rest.slice(0, Math.max(0, rest.length - 1))];
  return { ...result, label: m.word, confidence: m.similarity, rejected: false, top_k: topK, user_word: true };
}
