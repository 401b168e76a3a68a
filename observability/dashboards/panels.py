"""Panel builders shared by every CarePulse dashboard: one look, one way to query."""

from collections.abc import Iterable

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import heatmap, prometheus, stat, timeseries
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import DashboardLinkType, DataSourceRef
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

# The uids the provisioned datasources carry (grafana/provisioning/datasources).
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="prometheus")
ZIPKIN = DataSourceRef(type_val="zipkin", uid="zipkin")
RATE = "$__rate_interval"


def query(expr: str, legend: str = "", *, exemplars: bool = False) -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .datasource(PROMETHEUS)
        .expr(expr)
        .legend_format(legend or "__auto")
        .exemplar(exemplars)
    )


def graph(
    title: str,
    unit: str,
    queries: Iterable[prometheus.Dataquery],
    *,
    description: str = "",
    width: int = 12,
    stacked: bool = False,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .span(width)
        .height(8)
        .fill_opacity(10)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["mean", "max"])
        )
        .tooltip(common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI))
    )
    if stacked:
        panel = panel.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
    for target in queries:
        panel = panel.with_target(target)
    return panel


def latency(
    title: str,
    histogram: str,
    selector: str,
    by: str,
    *,
    unit: str = "s",
    description: str = "",
    width: int = 12,
) -> timeseries.Panel:
    """p50/p95/p99 of a histogram, with exemplars: each dot opens its trace in Zipkin."""
    quantiles = [
        query(
            f"histogram_quantile({q}, sum by (le, {by}) "
            f"(rate({histogram}_bucket{{{selector}}}[{RATE}])))",
            f"p{round(q * 100)} {{{{{by}}}}}",
            exemplars=q == 0.99,
        )
        for q in (0.5, 0.95, 0.99)
    ]
    return graph(
        title,
        unit,
        quantiles,
        description=(description + " Dots are exemplars: click one to open its trace.").strip(),
        width=width,
    )


def big_number(
    title: str, unit: str, expr: str, *, description: str = "", width: int = 6
) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .span(width)
        .height(4)
        .graph_mode(common.BigValueGraphMode.AREA)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .with_target(query(expr))
    )


def distribution(title: str, histogram: str, selector: str, *, description: str) -> heatmap.Panel:
    """A heatmap of a histogram's buckets over time."""
    return (
        heatmap.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .span(12)
        .height(8)
        .calculate(False)
        .with_target(
            query(
                f"sum by (le) (increase({histogram}_bucket{{{selector}}}[{RATE}]))", "{{le}}"
            ).format(PromQueryFormat.HEATMAP)
        )
    )


def row(title: str) -> dashboard_builders.Row:
    return dashboard_builders.Row(title)


def dashboard(uid: str, title: str, description: str) -> dashboard_builders.Dashboard:
    return (
        dashboard_builders.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["carepulse"])
        .timezone("browser")
        .time("now-1h", "now")
        .refresh("30s")
        .readonly()
        .link(
            dashboard_builders.DashboardLink("CarePulse")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(["carepulse"])
            .as_dropdown(True)
        )
    )
