"""What the operator view's evidence chart drew, read back from its SVG in one step (the chart
is redrawn every few seconds while an open alert is selected)."""

from dataclasses import dataclass

from playwright.sync_api import Locator

_READ = """figure => {
  const svg = figure.querySelector("svg");
  const ys = (d) => [...d.matchAll(/[ML]([-\\d.]+),([-\\d.]+)/g)].map((m) => Number(m[2]));
  const grid = [...svg.querySelectorAll("line.grid")].map((line) => [
    Number(line.nextElementSibling.textContent), Number(line.getAttribute("y1")),
  ]);
  const band = svg.querySelector(".band").getAttribute("points").trim().split(/\\s+/)
    .map((point) => Number(point.split(",")[1]));
  return {
    label: svg.getAttribute("aria-label"),
    grid,
    observed: ys(svg.querySelector(".observed").getAttribute("d")),
    expected: ys(svg.querySelector(".expected").getAttribute("d")),
    band,
    markers: [...svg.querySelectorAll(".point, .fired")].map((marker) => ({
      fired: marker.classList.contains("fired"),
      shape: marker.localName,
      tooltip: marker.querySelector("title").textContent,
    })),
  };
}"""


@dataclass(frozen=True)
class Marker:
    fired: bool
    shape: str  # "path" (a triangle) or "circle"
    tooltip: str


@dataclass(frozen=True)
class DrawnChart:
    label: str
    grid: list[tuple[float, float]]  # (value, y) of each horizontal grid line, bottom first
    observed: list[float]  # y of the observed line at each bucket
    expected: list[float]  # y of the expected line at each bucket
    band_top: list[float]  # y of the band's upper edge (the firing threshold) at each bucket
    band_bottom: list[float]  # y of its lower edge, at each bucket
    markers: list[Marker]

    def y_of(self, value: float) -> float:
        """Where the chart's own axis puts `value`."""
        (low, low_y), (high, high_y) = self.grid[0], self.grid[-1]
        return low_y + (value - low) * (high_y - low_y) / (high - low)


def read_chart(figure: Locator) -> DrawnChart:
    drawn = figure.evaluate(_READ)
    band: list[float] = drawn["band"]
    half = len(band) // 2
    return DrawnChart(
        label=drawn["label"],
        grid=[(value, y) for value, y in drawn["grid"]],
        observed=drawn["observed"],
        expected=drawn["expected"],
        band_top=band[:half],
        band_bottom=band[half:][::-1],  # the polygon comes back along the lower edge
        markers=[Marker(**marker) for marker in drawn["markers"]],
    )
