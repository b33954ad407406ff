// The named skeleton of the (543, 3) landmark layout, built from the document the
// server answers at GET /v1/skeleton. That document is generated from
// sign2text.landmarks.skeleton (Python), so the part ranges, point subsets, mirror map
// and limbs have one source of truth; this module only indexes it. No DOM.

/**
 * @typedef {{start: number, size: number, stop: number}} Part
 * @typedef {{
 *   nPoints: number, nDims: number,
 *   face: Part, leftHand: Part, pose: Part, rightHand: Part,
 *   poseIndex: Record<string, number>,
 *   subsets: Record<string, number[]>,
 *   mirrorMap: Int32Array,
 *   limbs: Array<[number, number]>,
 * }} Skeleton
 */

function part(doc, name) {
  const p = doc.parts[name];
  if (!p) throw new Error(`skeleton document has no part ${name}`);
  return { start: p.start, size: p.size, stop: p.start + p.size };
}

/**
 * Index a skeleton document ({n_points, n_dims, parts, pose_names, subsets,
 * mirror_map, limbs}) for fast use.
 * @returns {Skeleton}
 */
export function makeSkeleton(doc) {
  const nPoints = doc.n_points;
  const mirrorMap = Int32Array.from(doc.mirror_map);
  if (mirrorMap.length !== nPoints) throw new Error("skeleton mirror_map has the wrong length");
  const poseIndex = {};
  doc.pose_names.forEach((name, i) => {
    poseIndex[name] = i;
  });
  return {
    nPoints,
    nDims: doc.n_dims,
    face: part(doc, "face"),
    leftHand: part(doc, "left_hand"),
    pose: part(doc, "pose"),
    rightHand: part(doc, "right_hand"),
    poseIndex,
    subsets: doc.subsets,
    mirrorMap,
    limbs: doc.limbs || [],
  };
}

/**
 * Global indices of the union of named point subsets, in a stable order: the lists
 * concatenated, each index kept at its first occurrence (as skeleton.subset does).
 * @param {Skeleton} skel
 * @param {string[]} names
 * @returns {number[]}
 */
export function subset(skel, names) {
  const seen = new Set();
  const out = [];
  for (const name of names) {
    const idx = skel.subsets[name];
    if (!idx) {
      const valid = Object.keys(skel.subsets).sort().join(", ");
      throw new Error(`unknown point subset '${name}'; valid: ${valid}`);
    }
    for (const i of idx) {
      if (!seen.has(i)) {
        seen.add(i);
        out.push(i);
      }
    }
  }
  return out;
}
