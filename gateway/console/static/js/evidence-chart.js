// An alert's series as a small SVG chart: the count its kind judges per bucket (negatives for a
// negative-share spike, all messages for a volume surge) against the band the detector
// considered normal (from the expected count up to the count that would fire), firing buckets
// marked with a triangle as well as a colour. Each point's numbers are in its tooltip and the
// chart's label summarises it for screen readers.

import { clockTime, svg } from "./dom.js";

// What each alert kind counts, expects and fires on, in a bucket of the series.
export const MEASURES = {
  negative_share: {
    noun: "negatives",
    verb: "spiked",
    value: (b) => b.negative_count,
    expected: (b) => b.expected_negatives,
    threshold: (b) => b.spike_threshold_negatives,
    fired: (b) => b.spiked,
  },
  volume: {
    noun: "messages",
    verb: "surged",
    value: (b) => b.total_count,
    expected: (b) => b.expected_messages,
    threshold: (b) => b.surge_threshold_messages,
    fired: (b) => b.surged,
  },
};

export function measureOf(kind) {
  return MEASURES[kind] ?? MEASURES.negative_share;
}

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 12, right: 12, bottom: 28, left: 44 };

export function evidenceChart(series, kind) {
  const m = measureOf(kind);
  const buckets = series.buckets;
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const top = Math.max(1, ...buckets.map((b) => Math.max(m.value(b), m.threshold(b))));
  const x = (i) => PAD.left + (buckets.length > 1 ? (i / (buckets.length - 1)) * plotWidth : plotWidth / 2);
  const y = (value) => PAD.top + plotHeight - (value / top) * plotHeight;

  const band = [
    ...buckets.map((b, i) => `${x(i)},${y(m.threshold(b))}`),
    ...buckets.map((b, i) => `${x(i)},${y(m.expected(b))}`).reverse(),
  ].join(" ");
  const line = (value) => buckets.map((b, i) => `${i ? "L" : "M"}${x(i)},${y(value(b))}`).join(" ");
  const fired = buckets.filter(m.fired);
  const peak = buckets.reduce((best, b) => (best === null || m.value(b) > m.value(best) ? b : best), null);
  const summary = buckets.length
    ? `${m.noun[0].toUpperCase()}${m.noun.slice(1)} per ${series.bucket_seconds}-second bucket, ${buckets.length} buckets from ${clockTime(buckets[0].start)} to ${clockTime(buckets.at(-1).start)}; ` +
      `${fired.length} ${m.verb}; peak ${m.value(peak)} ${m.noun} (${peak.negative_count} negative of ${peak.total_count}) against ${m.expected(peak).toFixed(1)} expected.`
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
    buckets.length ? svg("path", { class: "expected", d: line(m.expected) }) : null,
    buckets.length ? svg("path", { class: "observed", d: line(m.value) }) : null,
    buckets.map((b, i) => {
      const tip = `${clockTime(b.start)}: ${m.value(b)} ${m.noun} (${b.negative_count} of ${b.total_count} negative); expected ${m.expected(b).toFixed(1)}, ${m.verb.replace(/ed$/, "es")} from ${m.threshold(b)}${m.fired(b) ? ` (${m.verb})` : ""}`;
      const cx = x(i);
      const cy = y(m.value(b));
      return m.fired(b)
        ? svg("path", { class: "fired", d: `M${cx},${cy - 7} L${cx + 6},${cy + 4} L${cx - 6},${cy + 4} Z` }, svg("title", {}, tip))
        : svg("circle", { class: "point", cx, cy, r: 2.5 }, svg("title", {}, tip));
    }),
  );
}
