// Copy the browser runtime files the web demo needs from node_modules into
// src/sign2text/serve/static/vendor/ (gitignored; rebuilt by `npm ci && node build.mjs`).
//
// Only what the demo loads is copied:
//   holistic/  @mediapipe/holistic: the solution script, its graph, the SIMD and non-SIMD
//              wasm builds (the script picks one), the packed face/hand/palm models and
//              the pose model of model_complexity 1 (pose_landmark_full.tflite).
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
  const wanted = new Set(FILES.map(([, , dst]) => path.normalize(dst)).concat("MANIFEST.json"));
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
      manifest[dst].sha256 = sha256(path.join(vendor, dst));
    }
    const text = `${JSON.stringify({ versions, files: manifest }, null, 2)}\n`;
    const mf = path.join(vendor, "MANIFEST.json");
    if (!fs.existsSync(mf) || fs.readFileSync(mf, "utf8") !== text) fs.writeFileSync(mf, text);
  }
  const mb = (total / 1024 / 1024).toFixed(1);
  console.log(
    `vendor: ${FILES.length} files, ${mb} MiB in ${path.relative(process.cwd(), vendor)}` +
      (check ? " (up to date)" : ` (${copied} copied, ${removed} removed)`),
  );
}

main();
