// Copy the browser runtime files the web demo needs from node_modules into
// src/sign2text/serve/static/vendor/ (gitignored; rebuilt by `npm ci && node build.mjs`).
//
// Only what the demo loads is copied:
//   holistic/  @mediapipe/holistic: the solution script, its graph, the SIMD and non-SIMD
//              wasm builds (the script picks one), the packed face/hand/palm models and
//              the pose model of model_complexity 1 (pose_landmark_full.tflite); plus
//              holistic_body.binarypb, the graph without the face mesh, derived from
//              the package's graph here (see "Holistic without its face mesh" below).
//   ort/       onnxruntime-web: the wasm-only ESM bundle (its JS glue is inside) and the
//              plain SIMD wasm binary (no WebGPU/WebGL/JSEP/JSPI builds).
//   swagger/   swagger-ui-dist: the bundle, its CSS and favicon, so that the API docs at
//              /docs work offline (FastAPI's default loads them from a CDN).
//
// Idempotent and fast: a file whose size and mtime already match is left alone, and
// files in vendor/ that are not in the list are removed (dotfiles such as the Makefile's
// `.built` stamp are left alone). `--check` only verifies. Runs from any directory.

import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, "node_modules");
const vendor = path.resolve(here, "..", "src", "sign2text", "serve", "static", "vendor");

/** [package, file in the package, destination under vendor/] */
const FILES = [
  ["@mediapipe/holistic", "holistic.js", "holistic/holistic.js"],
  ["@mediapipe/holistic", "holistic.binarypb", "holistic/holistic.binarypb"],
  [
    "@mediapipe/holistic",
    "holistic_solution_packed_assets_loader.js",
    "holistic/holistic_solution_packed_assets_loader.js",
  ],
  [
    "@mediapipe/holistic",
    "holistic_solution_packed_assets.data",
    "holistic/holistic_solution_packed_assets.data",
  ],
  [
    "@mediapipe/holistic",
    "holistic_solution_simd_wasm_bin.js",
    "holistic/holistic_solution_simd_wasm_bin.js",
  ],
  [
    "@mediapipe/holistic",
    "holistic_solution_simd_wasm_bin.wasm",
    "holistic/holistic_solution_simd_wasm_bin.wasm",
  ],
  ["@mediapipe/holistic", "holistic_solution_wasm_bin.js", "holistic/holistic_solution_wasm_bin.js"],
  [
    "@mediapipe/holistic",
    "holistic_solution_wasm_bin.wasm",
    "holistic/holistic_solution_wasm_bin.wasm",
  ],
  ["@mediapipe/holistic", "pose_landmark_full.tflite", "holistic/pose_landmark_full.tflite"],
  ["@mediapipe/holistic", "package.json", "holistic/package.json"],
  ["onnxruntime-web", "dist/ort.wasm.bundle.min.mjs", "ort/ort.wasm.bundle.min.mjs"],
  ["onnxruntime-web", "dist/ort-wasm-simd-threaded.wasm", "ort/ort-wasm-simd-threaded.wasm"],
  ["onnxruntime-web", "package.json", "ort/package.json"],
  ["swagger-ui-dist", "swagger-ui-bundle.js", "swagger/swagger-ui-bundle.js"],
  ["swagger-ui-dist", "swagger-ui.css", "swagger/swagger-ui.css"],
  ["swagger-ui-dist", "favicon-32x32.png", "swagger/favicon-32x32.png"],
  ["swagger-ui-dist", "LICENSE", "swagger/LICENSE"],
  ["swagger-ui-dist", "NOTICE", "swagger/NOTICE"],
  ["swagger-ui-dist", "package.json", "swagger/package.json"],
];

// --- Holistic without its face mesh ------------------------------------------------
// holistic/holistic_body.binarypb is derived from the package's holistic.binarypb: its
// HolisticLandmarkGpu node is replaced by the pose and hand subgraphs that node runs
// (PoseLandmarkGpu, HandLandmarksLeftAndRightGpu, named as inside it, so the solution's
// options still reach them), and `face_landmarks` comes from a gate that a constant
// keeps closed (the solution listens to that stream; it stays empty). The pose and hand
// landmarks are those of the full graph (tests/browser/test_browser_landmarks.py);
// sign2text.landmarks.holistic does the same for Python. A few lines of protobuf wire
// format instead of a protobuf dependency: only length-delimited fields are written,
// and the build fails if the package's node is not the one this was written for.

const BODY_GRAPH = "holistic/holistic_body.binarypb";
const GRAPH_NODE = 1; // CalculatorGraphConfig.node (mediapipe/framework/calculator.proto)
const NODE = {
  name: 1,
  calculator: 2,
  input_stream: 3,
  output_stream: 4,
  input_side_packet: 5,
  output_side_packet: 6,
  options: 7,
};

function readVarint(buf, pos) {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const b = buf[pos++];
    value += (b & 0x7f) * scale;
    if (!(b & 0x80)) return [value, pos];
    scale *= 128;
  }
}

function varint(n) {
  const out = [];
  while (n > 0x7f) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** The fields of one protobuf message: {field, wire, bytes (the whole field), value}. */
function protoFields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let value = null;
    if (wire === 0) [, pos] = readVarint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      value = buf.subarray(pos, pos + len);
      pos += len;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (pos > buf.length) throw new Error("truncated protobuf field");
    out.push({ field, wire, bytes: buf.subarray(start, pos), value });
  }
  return out;
}

function lengthField(field, bytes) {
  return Buffer.concat([varint(field * 8 + 2), varint(bytes.length), bytes]);
}

/** A graph node of string fields (`spec`: NODE key -> string or strings) plus raw fields. */
function graphNode(spec, raw = []) {
  const parts = [];
  for (const [key, values] of Object.entries(spec)) {
    for (const v of [].concat(values)) parts.push(lengthField(NODE[key], Buffer.from(v, "utf8")));
  }
  return lengthField(GRAPH_NODE, Buffer.concat([...parts, ...raw]));
}

function nodeStrings(nodeFields, key) {
  return nodeFields.filter((f) => f.field === NODE[key] && f.wire === 2).map((f) => f.value.toString("utf8"));
}

// CalculatorOptions with [ConstantSidePacketCalculatorOptions.ext] { packet { bool_value:
// false } } (extension 291214597; ConstantSidePacket.bool_value is field 3).
const CONSTANT_OPTIONS_EXT = 291214597;
const FALSE_PACKET = Buffer.from([3 * 8 + 0, 0]); // bool_value = false (varint)

function falseConstantOptions() {
  return lengthField(NODE.options, lengthField(CONSTANT_OPTIONS_EXT, lengthField(1, FALSE_PACKET)));
}

// The HolisticLandmarkGpu node of the pinned package, field by field: what is replaced.
const HOLISTIC_NODE_TAGS = {
  input_stream: ["IMAGE"],
  output_stream: [
    "POSE_LANDMARKS",
    "WORLD_LANDMARKS",
    "FACE_LANDMARKS",
    "LEFT_HAND_LANDMARKS",
    "RIGHT_HAND_LANDMARKS",
    "SEGMENTATION_MASK",
  ],
};

/** TAG -> stream name of a node's `key` streams; throws unless the tags are exactly `tags`. */
function taggedStreams(nodeFields, key, tags) {
  const map = new Map();
  for (const entry of nodeStrings(nodeFields, key)) {
    const parts = entry.split(":");
    if (parts.length !== 2) throw new Error(`holistic.binarypb: unexpected ${key} ${entry}`);
    map.set(parts[0], parts[1]);
  }
  const got = [...map.keys()].sort().join(",");
  if (got !== [...tags].sort().join(",")) {
    throw new Error(`holistic.binarypb: HolisticLandmarkGpu ${key} tags ${got}, expected ${tags}`);
  }
  return map;
}

/** holistic.binarypb -> the same graph without the face mesh (see above). */
function bodyGraph(graph) {
  const out = [];
  let replaced = 0;
  for (const f of protoFields(graph)) {
    const n = f.field === GRAPH_NODE && f.wire === 2 ? protoFields(f.value) : null;
    if (!n || nodeStrings(n, "calculator")[0] !== "HolisticLandmarkGpu") {
      out.push(f.bytes);
      continue;
    }
    const known = new Set([NODE.calculator, NODE.input_stream, NODE.output_stream, NODE.input_side_packet]);
    const other = n.filter((x) => !known.has(x.field));
    if (other.length) throw new Error(`holistic.binarypb: HolisticLandmarkGpu has other fields (${other.map((x) => x.field)})`);
    const inputs = taggedStreams(n, "input_stream", HOLISTIC_NODE_TAGS.input_stream);
    const streams = taggedStreams(n, "output_stream", HOLISTIC_NODE_TAGS.output_stream);
    const image = `IMAGE:${inputs.get("IMAGE")}`;
    const pose = streams.get("POSE_LANDMARKS");
    out.push(
      graphNode({
        name: "holisticlandmarkgpu__poselandmarkgpu",
        calculator: "PoseLandmarkGpu",
        input_stream: image,
        output_stream: [
          `LANDMARKS:${pose}`,
          `WORLD_LANDMARKS:${streams.get("WORLD_LANDMARKS")}`,
          `SEGMENTATION_MASK:${streams.get("SEGMENTATION_MASK")}`,
        ],
        input_side_packet: nodeStrings(n, "input_side_packet").filter((s) => !s.startsWith("REFINE_FACE_LANDMARKS:")),
      }),
      graphNode({
        name: "holisticlandmarkgpu__handlandmarksleftandrightgpu",
        calculator: "HandLandmarksLeftAndRightGpu",
        input_stream: [image, `POSE_LANDMARKS:${pose}`],
        output_stream: [
          `LEFT_HAND_LANDMARKS:${streams.get("LEFT_HAND_LANDMARKS")}`,
          `RIGHT_HAND_LANDMARKS:${streams.get("RIGHT_HAND_LANDMARKS")}`,
        ],
      }),
      // A constant false under a name no option of the solution refers to.
      graphNode(
        { name: "Sign2TextNoFaceConstant", calculator: "ConstantSidePacketCalculator", output_side_packet: "PACKET:sign2text_no_face" },
        [falseConstantOptions()],
      ),
      graphNode({
        name: "Sign2TextNoFaceGate",
        calculator: "GateCalculator",
        input_stream: pose,
        input_side_packet: "ALLOW:sign2text_no_face",
        output_stream: streams.get("FACE_LANDMARKS"),
      }),
    );
    replaced += 1;
  }
  if (replaced !== 1) throw new Error(`holistic.binarypb: expected one HolisticLandmarkGpu node, found ${replaced}`);
  return Buffer.concat(out);
}

/** Write (or with `check`, verify) the derived graph; returns true when it was written. */
function writeBodyGraph(check) {
  const src = path.join(modules, "@mediapipe/holistic", "holistic.binarypb");
  const out = path.join(vendor, BODY_GRAPH);
  const want = bodyGraph(fs.readFileSync(src));
  if (fs.existsSync(out) && fs.readFileSync(out).equals(want)) return false;
  if (check) {
    console.error(`build.mjs: ${BODY_GRAPH} is missing or stale`);
    process.exit(1);
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(`${out}.tmp`, want);
  fs.renameSync(`${out}.tmp`, out);
  return true;
}

function same(src, dst) {
  if (!fs.existsSync(dst)) return false;
  const a = fs.statSync(src);
  const b = fs.statSync(dst);
  return a.size === b.size && Math.floor(a.mtimeMs / 1000) === Math.floor(b.mtimeMs / 1000);
}

function listFiles(dir, base = dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p, base) : [path.relative(base, p)];
  });
}

function sha256(file) {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function main() {
  const check = process.argv.includes("--check");
  const wanted = new Set(
    FILES.map(([, , dst]) => path.normalize(dst)).concat("MANIFEST.json", path.normalize(BODY_GRAPH)),
  );
  let copied = 0;
  let total = 0;
  const manifest = {};
  for (const [pkg, file, dst] of FILES) {
    const src = path.join(modules, pkg, file);
    if (!fs.existsSync(src)) {
      console.error(`build.mjs: missing ${pkg}/${file}; run \`npm ci\` in web/ first`);
      process.exit(1);
    }
    const out = path.join(vendor, dst);
    const st = fs.statSync(src);
    total += st.size;
    manifest[dst] = { package: pkg, size: st.size };
    if (same(src, out)) continue;
    if (check) {
      console.error(`build.mjs: ${dst} is missing or stale`);
      process.exit(1);
    }
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const tmp = `${out}.tmp`;
    fs.copyFileSync(src, tmp);
    fs.utimesSync(tmp, st.atime, st.mtime);
    fs.renameSync(tmp, out);
    copied += 1;
  }
  if (writeBodyGraph(check)) copied += 1;
  manifest[BODY_GRAPH] = { package: "@mediapipe/holistic", derived_from: "holistic/holistic.binarypb" };
  let removed = 0;
  for (const rel of listFiles(vendor)) {
    if (path.basename(rel).startsWith(".")) continue;
    if (!wanted.has(path.normalize(rel))) {
      if (check) {
        console.error(`build.mjs: unexpected file vendor/${rel}`);
        process.exit(1);
      }
      fs.rmSync(path.join(vendor, rel));
      removed += 1;
    }
  }
  if (!check) {
    // Versions and checksums of what was vendored (for the record; not loaded by the page).
    const versions = {};
    for (const pkg of ["@mediapipe/holistic", "onnxruntime-web"]) {
      versions[pkg] = JSON.parse(fs.readFileSync(path.join(modules, pkg, "package.json"))).version;
    }
    for (const dst of Object.keys(manifest)) {
      const file = path.join(vendor, dst);
      manifest[dst].sha256 = sha256(file);
      manifest[dst].size = fs.statSync(file).size;
    }
    const text = `${JSON.stringify({ versions, files: manifest }, null, 2)}\n`;
    const mf = path.join(vendor, "MANIFEST.json");
    if (!fs.existsSync(mf) || fs.readFileSync(mf, "utf8") !== text) fs.writeFileSync(mf, text);
  }
  const mb = (total / 1024 / 1024).toFixed(1);
  console.log(
    `vendor: ${FILES.length + 1} files, ${mb} MiB in ${path.relative(process.cwd(), vendor)}` +
      (check ? " (up to date)" : ` (${copied} copied, ${removed} removed)`),
  );
}

main();
