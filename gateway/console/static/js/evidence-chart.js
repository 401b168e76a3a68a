// An alert's series as a small SVG chart: negatives per bucket against the band the detector
// considered normal (from the expected count up to the count that would spike), spiking
// buckets marked with a triangle as well as a colour. Each point's numbers are in its tooltip
// and the chart's label summarises it for screen readers.

import { clockTime, svg } from "./dom.js";

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 12, right: 12, bottom: 28, left: 44 };

export function evidenceChart(series) {
  const buckets = series.buckets;
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const top = Math.max(1, ...buckets.map((b) => Math.max(b.negative_count, b.spike_threshold_negatives)));
  const x = (i) => PAD.left + (buckets.length > 1 ? (i / (buckets.length - 1)) * plotWidth : plotWidth / 2);
  const y = (value) => PAD.top + plotHeight - (value / top) * plotHeight;

  const band = [
    ...buckets.map((b, i) => `${x(i)},${y(b.spike_threshold_negatives)}`),
    ...buckets.map((b, i) => `${x(i)},${y(b.expected_negatives)}`).reverse(),
  ].join(" ");
  const line = (value) => buckets.map((b, i) => `${i ? "L" : "M"}${x(i)},${y(value(b))}`).join(" ");
  const spiked = buckets.filter((b) => b.spiked);
  const peak = buckets.reduce((best, b) => (b.negative_count > (best?.negative_count ?? -1) ? b : best), null);
  const summary = buckets.length
    ? `Negatives per ${series.bucket_seconds}-second bucket, ${buckets.length} buckets from ${clockTime(buckets[0].start)} to ${clockTime(buckets.at(-1).start)}; ` +
      `${spiked.length} spiked; peak ${peak.negative_count} negatives of ${peak.total_count} against ${peak.expected_negatives.toFixed(1)} expected.`
    : "No buckets kept for this alert.";

  const ticks = [0, Math.round(top / 2), top].filter((v, i, all) => all.indexOf(v) === i);
  const labelled = buckets.length ? [0, Math.floor((buckets.length - 1) / 2), buckets.length - 1] : [];
  return svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart", role: "img", "aria-label": summary },
    svg("title", {}, summary),
    ticks.map((v) => [
      svg("line", { class: "grid", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v) }),
      svg("text", { class: "axis", x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)),
    ]),
    [...new Set(labelled)].map((i) => {
      const anchor = i === 0 && buckets.length > 1 ? "start" : i === buckets.length - 1 && i > 0 ? "end" : "middle";
      return svg("text", { class: "axis", x: x(i), y: HEIGHT - 8, "text-anchor": anchor }, clockTime(buckets[i].start));
    }),
    buckets.length ? svg("polygon", { class: "band", points: band }) : null,
    buckets.length ? svg("path", { class: "expected", d: line((b) => b.expected_negatives) }) : null,
    buckets.length ? svg("path", { class: "observed", d: line((b) => b.negative_count) }) : null,
    buckets.map((b, i) => {
      const tip = `${clockTime(b.start)}: ${b.negative_count} of ${b.total_count} negative; expected ${b.expected_negatives.toFixed(1)}, spikes from ${b.spike_threshold_negatives}${b.spiked ? " (spiked)" : ""}`;
      const cx = x(i);
      const cy = y(b.negative_count);
      return b.spiked
        ? svg("path", { class: "spiked", d: `M${cx},${cy - 7} L${cx + 6},${cy + 4} L${cx - 6},${cy + 4} Z` }, svg("title", {}, tip))
        : svg("circle", { class: "point", cx, cy, r: 2.5 }, svg("title", {}, tip));
    }),
  );
}
