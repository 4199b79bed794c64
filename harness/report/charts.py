"""Charts on matplotlib's Agg backend with seaborn's theme and box plots, saved as PNG and SVG.

Every chart colours backends from one palette (``palette``), so keras is the same colour everywhere.
With several runs, categories on the x axis become "cell · run" and lines get a style per run.
Lines are drawn with plain matplotlib: seaborn's lineplot cost over a second on the default matrix, and the
whole report has a 10 s budget (issue 5).
"""

from __future__ import annotations

import io
import itertools
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless and fast; must happen before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from harness.atomic import write_bytes  # noqa: E402

from .document import Chart  # noqa: E402
from .tables import backend_order, cell_order, run_order  # noqa: E402

#: Fixed colours for the known backends (seaborn's colour-blind palette); others take the next free ones.
BACKEND_COLOURS = {"keras": "#0173b2", "torch": "#de8f05"}
WARMUP_COLOUR = "#222222"
#: Settings that keep rendering fast and the SVG small and reproducible.
RC = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "svg.fonttype": "none",  # text stays text: smaller, searchable SVG
    "svg.hashsalt": "rnn-bench",  # stable element ids between runs
    "path.simplify": True,
    "agg.path.chunksize": 10000,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
}
#: Layout in inches, fixed rather than measured: tight/constrained layout draws every figure an extra time
#: (measured: about a third of the report's run time). Tick labels here are short numbers, so fixed margins fit.
PANEL_W, PANEL_H = 3.6, 2.3  # one axes area
LEGEND_ENTRY_IN, LEGEND_CHAR_IN = 0.65, 0.08  # legend width estimate: per entry, per label character
MARGIN = {"left": 0.8, "right": 0.2, "bottom": 0.55, "title": 0.35, "legend": 0.4, "gap_w": 0.8, "gap_h": 0.25}
BOX_WIDTH = 0.8
#: Learning curves: validation solid with dots, training dashed with crosses (the classic notebook's two plots).
PHASE_STYLE = {
    "validation": {"linestyle": "-", "marker": "o", "markersize": 3.5, "linewidth": 1.6},
    "train": {"linestyle": (0, (4, 2)), "marker": "x", "markersize": 3.5, "linewidth": 1.3},
}
RUN_LINESTYLES = ["-", "--", ":", "-."]
_CURVES = {
    ("validation", "accuracy"): "val_acc",
    ("train", "accuracy"): "train_acc",
    ("validation", "loss"): "val_loss",
    ("train", "loss"): "train_loss",
}  # seaborn's default dodge width: warm-up markers and bars use the same slots


def palette(backends: Iterable[str]) -> dict[str, str]:
    """One colour per backend, the same in every chart of a report (and across reports for keras/torch)."""
    taken = {c.lower() for c in BACKEND_COLOURS.values()}
    spare = itertools.cycle(c for c in sns.color_palette("colorblind").as_hex() if c.lower() not in taken)
    return {b: BACKEND_COLOURS.get(b) or next(spare) for b in backend_order(list(backends))}


def render_charts(
    jobs: pd.DataFrame,
    epochs: pd.DataFrame,
    steps: pd.DataFrame,
    summary: pd.DataFrame,
    seed_table: pd.DataFrame,
    out: Path,
) -> list[Chart]:
    colours = palette(jobs["backend"])
    target = float(jobs["target_acc"].iloc[0])
    several = jobs["run"].nunique() > 1
    charts: list[tuple[str, str, str, Callable[[], plt.Figure]]] = [
        (
            "learning_curves",
            "Learning curves",
            "Accuracy and loss per epoch, training (dashed) and validation (solid); "
            + ("band: range over seeds." if _max_seeds(jobs) > 1 else "one seed per line."),
            lambda: learning_curves(epochs, colours),
        ),
        (
            "step_times",
            "Step-time distributions",
            "Per-step wall time (log scale). Boxes: timed steps (warm-up and partial last batches excluded, as in the "
            "tables); black ×: warm-up steps (build/compile), recorded but not counted.",
            lambda: step_times(steps, colours, several),
        ),
        (
            "accuracy_vs_time",
            "Validation accuracy against training time",
            f"Validation accuracy at the end of each epoch against cumulative training wall time (evaluation excluded); "
            f"one line per seed; dotted line: target {target:g}.",
            lambda: accuracy_vs_time(epochs, colours, target),
        ),
        (
            "speed_bars",
            "Throughput and time to accuracy",
            f"Training throughput (warm-up excluded) and training seconds until validation accuracy first reached "
            f"{target:g}; mean over seeds, error bar ± sd; 'not reached': some seed never got there.",
            lambda: speed_bars(summary, seed_table, colours, several),
        ),
    ]
    out_charts = []
    with matplotlib.rc_context(RC), sns.axes_style("whitegrid"):
        for name, title, caption, draw in charts:
            figure = draw()
            out_charts.append(save(figure, out, name, title, caption))
            plt.close(figure)
    return out_charts


def save(figure: plt.Figure, out: Path, name: str, title: str, caption: str) -> Chart:
    """PNG and SVG, each written atomically; the PNG bytes are kept for embedding in index.html."""
    blobs = {}
    for ext in ("png", "svg"):
        buffer = io.BytesIO()
        # metadata without a date: the same records give byte-identical charts.
        meta = {"Date": None} if ext == "svg" else {}
        # No bbox_inches="tight": it draws the figure once more per file (the layout is fixed in _grid).
        figure.savefig(buffer, format=ext, metadata=meta)
        blobs[ext] = buffer.getvalue()
        write_bytes(out / f"{name}.{ext}", blobs[ext])
    return Chart(name, title, caption, out / f"{name}.png", out / f"{name}.svg", blobs["png"])


# -- the charts (each returns a Figure) ----------------------------------------------------------------


def learning_curves(epochs: pd.DataFrame, colours: Mapping[str, str]) -> plt.Figure:
    """Rows: accuracy, loss (per run); columns: cells; colour: backend; dashed train, solid validation;
    with several seeds the line is the mean and the band the range over seeds.

    Drawn with matplotlib on seaborn's theme: seaborn's lineplot with two semantics cost about a second
    on the default matrix, a tenth of the report's time budget."""
    bands = (
        epochs.groupby(["run", "cell", "backend", "epoch"], sort=False)
        .agg(**{f"{col}_{how}": (col, how) for col in _CURVES.values() for how in ("mean", "min", "max")})
        .reset_index()
    )
    runs, cells = run_order(epochs), cell_order(epochs["cell"])
    rows = [(run, metric) for run in runs for metric in ("accuracy", "loss")]
    legend = _backend_legend(colours, epochs["backend"], lambda c: Line2D([], [], color=c, linewidth=2))
    legend += [(phase, Line2D([], [], color="#555555", **style)) for phase, style in PHASE_STYLE.items()]
    fig, axes = _grid(len(rows), len(cells), legend, sharex=True)
    for r, (run, metric) in enumerate(rows):
        for c, cell in enumerate(cells):
            ax = axes[r][c]
            panel = bands[(bands["run"] == run) & (bands["cell"] == cell)]
            if panel.empty:
                ax.set_visible(False)
                continue
            for backend, line in panel.groupby("backend", sort=False):
                for phase, style in PHASE_STYLE.items():
                    column = _CURVES[(phase, metric)]
                    ax.plot(line["epoch"], line[f"{column}_mean"], color=colours[backend], **style)
                    ax.fill_between(
                        line["epoch"],
                        line[f"{column}_min"],
                        line[f"{column}_max"],
                        color=colours[backend],
                        alpha=0.2,
                        linewidth=0,
                    )
            ax.set_title(f"{cell}" + (f" · {run}" if len(runs) > 1 else ""))
            ax.set_ylabel(metric)
            ax.xaxis.get_major_locator().set_params(integer=True)
    for column in zip(*axes):  # x ticks under the lowest panel drawn in each column (others may be hidden)
        shown = [ax for ax in column if ax.get_visible()]
        if shown:
            shown[-1].xaxis.set_tick_params(labelbottom=True)
            shown[-1].set_xlabel("epoch")
    return fig


def step_times(steps: pd.DataFrame, colours: Mapping[str, str], several: bool) -> plt.Figure:
    """Box per backend x cell of the timed steps (log y); warm-up steps as black crosses in the same slot."""
    data = steps.assign(group=_group_labels(steps, several))
    groups, hues = _ordered_groups(data, several), list(colours)
    legend = _backend_legend(colours, hues, lambda c: Patch(facecolor=c, edgecolor="#333333", linewidth=0.8))
    legend.append(("warm-up steps", Line2D([], [], linestyle="", marker="x", color=WARMUP_COLOUR)))
    fig, axes = _grid(1, 1, legend, panel_w=max(PANEL_W, 0.7 * len(groups) * len(hues)), panel_h=PANEL_H + 0.7)
    ax = axes[0][0]
    timed = data[data["timed"]]
    if len(timed):
        with warnings.catch_warnings():
            # seaborn 0.13.2 passes matplotlib 3.11's deprecated ``vert``; harmless until matplotlib 3.13.
            warnings.simplefilter("ignore", matplotlib.MatplotlibDeprecationWarning)
            sns.boxplot(
                data=timed,
                x="group",
                y="time_ms",
                hue="backend",
                order=groups,
                hue_order=hues,
                palette=colours,
                width=BOX_WIDTH,
                fliersize=1.2,
                linewidth=0.8,
                log_scale=True,
                legend=False,
                ax=ax,
            )
    else:  # every step was warm-up or partial: only the crosses below
        ax.set_yscale("log")
        ax.set_xticks(range(len(groups)), groups)
    warm = data[data["warmup"]]
    rng = np.random.default_rng(0)  # jitter only: fixed so charts are reproducible
    xs = _slot_positions(warm["group"], warm["backend"], groups, hues) + rng.uniform(-0.06, 0.06, len(warm))
    ax.scatter(xs, warm["time_ms"], marker="x", s=18, linewidths=1.0, color=WARMUP_COLOUR, zorder=5)
    ax.set_xlim(-0.5, len(groups) - 0.5)
    ax.set_xlabel("")
    ax.set_ylabel("step time (ms, log scale)")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    return fig


def accuracy_vs_time(epochs: pd.DataFrame, colours: Mapping[str, str], target: float) -> plt.Figure:
    """Validation accuracy against cumulative training seconds, one panel per cell, one line per job (seed);
    with several runs, one line style per run."""
    cells, runs = cell_order(epochs["cell"]), run_order(epochs)
    styles = dict(zip(runs, RUN_LINESTYLES * len(runs)))
    legend = _backend_legend(colours, epochs["backend"], lambda c: Line2D([], [], color=c, marker="o", markersize=3.5))
    if len(runs) > 1:
        legend += [(run, Line2D([], [], color="#555555", linestyle=styles[run])) for run in runs]
    fig, axes = _grid(1, len(cells), legend)
    for c, cell in enumerate(cells):
        ax = axes[0][c]
        for (run, _, backend), job in epochs[epochs["cell"] == cell].groupby(["run", "job_id", "backend"], sort=False):
            ax.plot(
                job["elapsed_train_s"],
                job["val_acc"],
                color=colours[backend],
                linestyle=styles[run],
                marker="o",
                markersize=3.5,
                linewidth=1.5,
            )
        ax.axhline(target, color="#777777", linestyle=":", linewidth=1)
        ax.set_title(cell)
        ax.set_xlabel("training time (s)")
        ax.set_ylabel("validation accuracy")
        ax.set_xlim(left=0)
    return fig


def speed_bars(
    summary: pd.DataFrame, seed_table: pd.DataFrame, colours: Mapping[str, str], several: bool
) -> plt.Figure:
    """Two panels of bars from the summary (mean over seeds) with ± sd error bars from the seed table."""
    frame = summary if "run" in summary else summary.assign(run=seed_table["run"].iloc[0])
    frame = frame.assign(group=_group_labels(frame, several))
    groups, hues = _ordered_groups(frame, several), list(colours)
    sd = seed_table.pivot_table(index=["run", "backend", "cell", "mode"], columns="metric", values="sd", dropna=False)
    legend = _backend_legend(colours, hues, lambda c: Patch(color=c))
    fig, grid = _grid(1, 2, legend, panel_w=max(PANEL_W, 0.6 * len(groups) * len(hues)), panel_h=PANEL_H + 0.3)
    xs = _slot_positions(frame["group"], frame["backend"], groups, hues)
    keys = list(zip(frame["run"], frame["backend"], frame["cell"], frame["mode"]))
    for ax, metric, label in (
        (grid[0][0], "samples_per_s", "throughput (samples/s)"),
        (grid[0][1], "time_to_acc_s", "time to accuracy (s)"),
    ):
        errors = np.array([sd[metric].get(k, np.nan) if metric in sd else np.nan for k in keys], dtype=float)
        heights = frame[metric].astype(float).to_numpy()
        ax.bar(
            xs, np.nan_to_num(heights), width=BOX_WIDTH / len(hues) * 0.95, color=[colours[b] for b in frame["backend"]]
        )
        spread = np.isfinite(heights) & np.isfinite(errors)  # one seed: no error bar at all
        if spread.any():
            ax.errorbar(
                xs[spread],
                heights[spread],
                yerr=errors[spread],
                fmt="none",
                ecolor="#333333",
                elinewidth=0.8,
                capsize=3,
            )
        for x in xs[np.isnan(heights)]:
            ax.text(x, 0, "not reached", rotation=90, ha="center", va="bottom", fontsize=8, color="#555555")
        ax.set_xticks(range(len(groups)), groups)
        ax.set_ylabel(label)
    return fig


# -- helpers ---------------------------------------------------------------------------------------------

Legend = list[tuple[str, Artist]]


def _backend_legend(colours: Mapping[str, str], present: Iterable[str], handle: Callable[[str], Artist]) -> Legend:
    """One entry per backend in the report, in palette order, with a proxy artist in its colour."""
    shown = set(present)
    return [(backend, handle(colour)) for backend, colour in colours.items() if backend in shown]


def _grid(
    rows: int, cols: int, legend: Legend, sharex: bool = False, panel_w: float = PANEL_W, panel_h: float = PANEL_H
) -> tuple[plt.Figure, list[list[plt.Axes]]]:
    """A rows x cols grid of panel_w x panel_h axes with fixed margins for ticks and titles, and the legend
    in a one-row strip at the top (panels widen when the legend would not fit)."""
    m = MARGIN
    needed = sum(LEGEND_ENTRY_IN + LEGEND_CHAR_IN * len(label) for label, _ in legend)
    panel_w = max(panel_w, (needed - m["left"] - m["right"] - (cols - 1) * m["gap_w"]) / cols)
    gap_h = m["title"] + m["gap_h"] + (0 if sharex else m["bottom"])  # inner rows: title, maybe x tick labels
    width = m["left"] + cols * panel_w + (cols - 1) * m["gap_w"] + m["right"]
    top = m["title"] + m["legend"]
    height = top + rows * panel_h + (rows - 1) * gap_h + m["bottom"]
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), sharex=sharex, squeeze=False)
    fig.subplots_adjust(
        left=m["left"] / width,
        right=1 - m["right"] / width,
        bottom=m["bottom"] / height,
        top=1 - top / height,
        wspace=m["gap_w"] / panel_w,
        hspace=gap_h / panel_h,
    )
    if legend:
        fig.legend(
            [h for _, h in legend],
            [label for label, _ in legend],
            loc="upper center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=len(legend),
            frameon=False,
        )
    return fig, [list(row) for row in axes]


def _group_labels(frame: pd.DataFrame, several: bool) -> pd.Series:
    return frame["cell"] + " · " + frame["run"] if several else frame["cell"]


def _ordered_groups(frame: pd.DataFrame, several: bool) -> list[str]:
    runs, cells = run_order(frame), cell_order(frame["cell"])
    present = set(_group_labels(frame, several))
    return [g for g in (f"{c} · {r}" if several else c for r in runs for c in cells) if g in present]


def _slot_positions(groups: pd.Series, backends: pd.Series, group_order: list[str], hue_order: list[str]) -> np.ndarray:
    """x of each row's dodged slot, the way seaborn places hue boxes (width 0.8 split evenly)."""
    g = groups.map({v: i for i, v in enumerate(group_order)}).to_numpy(dtype=float)
    h = backends.map({v: i for i, v in enumerate(hue_order)}).to_numpy(dtype=float)
    n = len(hue_order)
    return g - BOX_WIDTH / 2 + BOX_WIDTH * (h + 0.5) / n


def _max_seeds(frame: pd.DataFrame) -> int:
    return int(frame.groupby(["run", "backend", "cell", "mode"])["seed"].nunique().max()) if len(frame) else 0
