// MediaPipe Holistic results -> one (543, 3) landmark frame in the Kaggle GISLR order,
// exactly as sign2text.landmarks.holistic.results_to_array builds it: face 0-467, left
// hand 468-488, pose 489-521, right hand 522-542, (x, y, z) per point, NaN for a part
// that was not detected. No DOM.

/**
 * @param {*} results Holistic's onResults argument
 * @param {import("./skeleton.js").Skeleton} skel
 * @returns {Float32Array} 543 * 3 values
 */
export function resultsToFrame(results, skel) {
  const N = skel.nDims;
  const out = new Float32Array(skel.nPoints * N).fill(Number.NaN);
  const fill = (part, points) => {
    if (!points) return;
    const n = Math.min(part.size, points.length);
    for (let i = 0; i < n; i++) {
      const p = points[i];
      const o = (part.start + i) * N;
      out[o] = p.x;
      out[o + 1] = p.y;
      out[o + 2] = p.z;
    }
  };
  fill(skel.face, results.faceLandmarks);
  fill(skel.leftHand, results.leftHandLandmarks);
  fill(skel.pose, results.poseLandmarks);
  fill(skel.rightHand, results.rightHandLandmarks);
  return out;
}

/** Does the frame have a hand (either wrist seen)? */
export function frameHasHand(frame, skel) {
  const N = skel.nDims;
  return !Number.isNaN(frame[skel.leftHand.start * N]) || !Number.isNaN(frame[skel.rightHand.start * N]);
}
