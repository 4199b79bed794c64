"""Charts on matplotlib's Agg backend with seaborn's theme and box plots, saved as PNG and SVG.

Every chart colours backends from one palette (``palette``), so keras is the same colour everywhere.
Speed charts group by engine: one panel per cell, one labelled slot per engine (backend), and they show only
the jobs ``hosts.speed_view`` keeps (machine to themselves, one kind of host per cell). With several runs,
the slots become "backend · run" and lines get a style per run.
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

from harness import stats  # noqa: E402
from harness.atomic import write_bytes  # noqa: E402

from . import hosts  # noqa: E402
from .document import Chart  # noqa: E402
from .tables import backend_order, cell_order, run_order  # noqa: E402

#: Fixed colours for the known backends (seaborn's colour-blind palette: Keras engines blues and greens,
#: torch engines oranges); others take the next free ones.
BACKEND_COLOURS = {
    "keras": "#0173b2",
    "keras-xla": "#56b4e9",
    "keras-jax": "#029e73",
    "keras-torch": "#cc78bc",
    "torch": "#de8f05",
    "torch-compile": "#d55e00",
}
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
SLOT_W = 0.5  # inches per engine slot in the speed charts
TICK_CHAR_IN = 0.045  # height a slanted (30°) tick label needs per character
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


def render_charts(jobs: pd.DataFrame, epochs: pd.DataFrame, steps: pd.DataFrame, out: Path) -> list[Chart]:
    colours = palette(jobs["backend"])
    target = float(jobs["target_acc"].iloc[0])
    several = jobs["run"].nunique() > 1
    view = hosts.speed_view(jobs)
    left_out = hosts.left_out(jobs, view)
    seeds = _max_seeds(jobs)
    charts: list[tuple[str, str, str, Callable[[], plt.Figure]]] = [
        (
            "learning_curves",
            "Learning curves",
            "Accuracy and loss per epoch, training (dashed) and validation (solid); "
            + (
                "line: mean over seeds, band: its 95% confidence interval (Student t)."
                if seeds > 1
                else "one seed per line."
            ),
            lambda: learning_curves(epochs, colours),
        ),
    ]
    if seeds > 1:
        charts.append(
            (
                "seed_accuracy",
                "Accuracy per seed",
                f"{_accuracy_metric(jobs)[1].capitalize()} of every seed (dots; grey lines join one seed's jobs: in "
                "matched mode they started from the same weights and saw the same batches), and the mean over seeds "
                "with its 95% confidence interval (black).",
                lambda: seed_accuracy(jobs, colours, several),
            )
        )
    if not view.empty:
        kept = _rows_of(view)
        charts += [
            (
                "step_times",
                "Step-time distributions",
                "Per-step wall time (log scale), one panel per cell, one box per engine. Boxes: timed steps (warm-up and "
                "partial last batches excluded, as in the tables); black ×: warm-up steps (build/compile), recorded but "
                f"not counted. {left_out}".strip(),
                lambda: step_times(steps[kept(steps)], colours, several),
            ),
            (
                "accuracy_vs_time",
                "Validation accuracy against training time",
                f"Validation accuracy at the end of each epoch against cumulative training wall time (evaluation "
                f"excluded); one line per seed; dotted line: target {target:g}. {left_out}".strip(),
                lambda: accuracy_vs_time(epochs[kept(epochs)], colours, target),
            ),
            (
                "speed_bars",
                "Throughput and time to accuracy",
                f"Training throughput (warm-up excluded) and training seconds until validation accuracy first reached "
                f"{target:g}, one panel per cell, one bar per engine; mean over seeds, error bar ± sd; 'not reached': "
                f"some seed never got there. {left_out}".strip(),
                lambda: speed_bars(view, colours, several),
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
    with several seeds the line is the mean and the band its 95% confidence interval over seeds.

    Drawn with matplotlib on seaborn's theme: seaborn's lineplot with two semantics cost about a second
    on the default matrix, a tenth of the report's time budget."""
    bands = curve_bands(epochs)
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
                        line[f"{column}_low"],
                        line[f"{column}_high"],
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


def curve_bands(epochs: pd.DataFrame) -> pd.DataFrame:
    """Per run x cell x backend x epoch and curve: the mean over seeds and its 95% Student-t interval (nan
    with one seed: no band)."""
    rows = []
    for key, group in epochs.groupby(["run", "cell", "backend", "epoch"], sort=False):
        row = dict(zip(("run", "cell", "backend", "epoch"), key))
        for column in _CURVES.values():
            ci = stats.mean_ci(group[column].to_numpy(dtype=float))
            row.update({f"{column}_mean": ci.mean, f"{column}_low": ci.low, f"{column}_high": ci.high})
        rows.append(row)
    return pd.DataFrame(rows)


def step_times(steps: pd.DataFrame, colours: Mapping[str, str], several: bool) -> plt.Figure:
    """One panel per cell, one box per engine of its timed steps (log y); warm-up steps as black crosses."""
    data = steps.assign(slot=_slot_labels(steps, several))
    cells = cell_order(data["cell"])
    slots = {cell: _ordered_slots(data[data["cell"] == cell], several) for cell in cells}
    legend = [("warm-up steps", Line2D([], [], linestyle="", marker="x", color=WARMUP_COLOUR))]
    fig, axes = _grid(1, len(cells), legend, **_slot_layout(slots, PANEL_H + 0.7))
    rng = np.random.default_rng(0)  # jitter only: fixed so charts are reproducible
    for ax, cell in zip(axes[0], cells):
        order = slots[cell]
        panel = data[data["cell"] == cell]
        timed = panel[panel["timed"]]
        if len(timed):
            with warnings.catch_warnings():
                # seaborn 0.13.2 passes matplotlib 3.11's deprecated ``vert``; harmless until matplotlib 3.13.
                warnings.simplefilter("ignore", matplotlib.MatplotlibDeprecationWarning)
                sns.boxplot(
                    data=timed,
                    x="slot",
                    y="time_ms",
                    hue="backend",
                    order=order,
                    palette=colours,
                    dodge=False,
                    width=0.6,
                    fliersize=1.2,
                    linewidth=0.8,
                    log_scale=True,
                    legend=False,
                    ax=ax,
                )
        else:  # every step was warm-up or partial: only the crosses below
            ax.set_yscale("log")
        warm = panel[panel["warmup"]]
        xs = _slot_x(warm, order)
        ax.scatter(
            xs + rng.uniform(-0.08, 0.08, len(warm)),
            warm["time_ms"],
            marker="x",
            s=18,
            linewidths=1.0,
            color=WARMUP_COLOUR,
            zorder=5,
        )
        _engine_axis(ax, order)
        ax.set_title(cell)
        ax.set_ylabel("step time (ms, log scale)")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    return fig


def seed_accuracy(jobs: pd.DataFrame, colours: Mapping[str, str], several: bool) -> plt.Figure:
    """One panel per cell: each seed's accuracy per engine (dots, one seed's jobs joined by a grey line),
    and the mean over seeds with its 95% confidence interval."""
    metric, label = _accuracy_metric(jobs)
    data = jobs.assign(slot=_slot_labels(jobs, several))
    cells = cell_order(data["cell"])
    slots = {cell: _ordered_slots(data[data["cell"] == cell], several) for cell in cells}
    legend = [
        ("seed", Line2D([], [], linestyle="", marker="o", color="#777777")),
        ("mean, 95% CI", Line2D([], [], marker="D", color="#111111")),
    ]
    fig, axes = _grid(1, len(cells), legend, **_slot_layout(slots, PANEL_H + 0.5))
    for ax, cell in zip(axes[0], cells):
        order = slots[cell]
        panel = data[data["cell"] == cell]
        panel = panel.assign(x=_slot_x(panel, order))
        for _, seed in panel.sort_values("x").groupby(["run", "seed"], sort=False):
            ax.plot(seed["x"], seed[metric], color="#bbbbbb", linewidth=0.8, zorder=1)
        ax.scatter(panel["x"], panel[metric], c=[colours[b] for b in panel["backend"]], s=22, zorder=2)
        for x, slot in enumerate(order):
            ci = stats.mean_ci(panel.loc[panel["slot"] == slot, metric].to_numpy(dtype=float))
            if np.isfinite(ci.low):
                ax.errorbar(
                    x + 0.18,
                    ci.mean,
                    yerr=[[ci.mean - ci.low], [ci.high - ci.mean]],
                    fmt="D",
                    markersize=4,
                    color="#111111",
                    elinewidth=1.0,
                    capsize=3,
                    zorder=3,
                )
        _engine_axis(ax, order)
        ax.set_title(cell)
        ax.set_ylabel(label)
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


def speed_bars(jobs: pd.DataFrame, colours: Mapping[str, str], several: bool) -> plt.Figure:
    """Rows: throughput, time to accuracy; one column per cell; one bar per engine (mean over seeds, ± sd).
    Time to accuracy is 'not reached' unless every seed got there."""
    data = jobs.assign(slot=_slot_labels(jobs, several))
    cells = cell_order(data["cell"])
    slots = {cell: _ordered_slots(data[data["cell"] == cell], several) for cell in cells}
    fig, axes = _grid(2, len(cells), [], **_slot_layout(slots, PANEL_H))
    for c, cell in enumerate(cells):
        order = slots[cell]
        groups = data[data["cell"] == cell].groupby("slot")
        for ax, metric, label in (
            (axes[0][c], "samples_per_s", "throughput (samples/s)"),
            (axes[1][c], "time_to_acc_s", "time to accuracy (s)"),
        ):
            means = groups[metric].agg(lambda v: v.mean() if v.notna().all() else np.nan).reindex(order)
            errors = groups[metric].std().reindex(order)  # one seed: nan, no error bar
            backend = groups["backend"].first().reindex(order)
            xs = np.arange(len(order))
            heights = means.to_numpy(dtype=float)
            ax.bar(xs, np.nan_to_num(heights), width=0.6, color=[colours[b] for b in backend])
            spread = np.isfinite(heights) & np.isfinite(errors.to_numpy(dtype=float))
            if spread.any():
                ax.errorbar(
                    xs[spread],
                    heights[spread],
                    yerr=errors.to_numpy(dtype=float)[spread],
                    fmt="none",
                    ecolor="#333333",
                    elinewidth=0.8,
                    capsize=3,
                )
            for x in xs[np.isnan(heights)]:
                ax.text(x, 0, "not reached", rotation=90, ha="center", va="bottom", fontsize=8, color="#555555")
            _engine_axis(ax, order)
            ax.set_title(cell)
            ax.set_ylabel(label)
    return fig


# -- helpers ---------------------------------------------------------------------------------------------

Legend = list[tuple[str, Artist]]


def _backend_legend(colours: Mapping[str, str], present: Iterable[str], handle: Callable[[str], Artist]) -> Legend:
    """One entry per backend in the report, in palette order, with a proxy artist in its colour."""
    shown = set(present)
    return [(backend, handle(colour)) for backend, colour in colours.items() if backend in shown]


def _grid(
    rows: int,
    cols: int,
    legend: Legend,
    sharex: bool = False,
    panel_w: float = PANEL_W,
    panel_h: float = PANEL_H,
    bottom: float = MARGIN["bottom"],
) -> tuple[plt.Figure, list[list[plt.Axes]]]:
    """A rows x cols grid of panel_w x panel_h axes with fixed margins for ticks and titles (``bottom``: room
    for the x tick labels under each row), and the legend in a one-row strip at the top (panels widen when
    the legend would not fit)."""
    m = MARGIN
    needed = sum(LEGEND_ENTRY_IN + LEGEND_CHAR_IN * len(label) for label, _ in legend)
    panel_w = max(panel_w, (needed - m["left"] - m["right"] - (cols - 1) * m["gap_w"]) / cols)
    gap_h = m["title"] + m["gap_h"] + (0 if sharex else bottom)  # inner rows: title, maybe x tick labels
    width = m["left"] + cols * panel_w + (cols - 1) * m["gap_w"] + m["right"]
    top = m["title"] + (m["legend"] if legend else 0)
    height = top + rows * panel_h + (rows - 1) * gap_h + bottom
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), sharex=sharex, squeeze=False)
    fig.subplots_adjust(
        left=m["left"] / width,
        right=1 - m["right"] / width,
        bottom=bottom / height,
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


def _slot_labels(frame: pd.DataFrame, several: bool) -> pd.Series:
    return frame["backend"] + " · " + frame["run"] if several else frame["backend"]


def _ordered_slots(frame: pd.DataFrame, several: bool) -> list[str]:
    """Engines in the report's order (keras first, then alphabetical: each family together), runs within."""
    present = set(_slot_labels(frame, several))
    backends, runs = backend_order(frame["backend"]), run_order(frame)
    return [s for s in (f"{b} · {r}" if several else b for b in backends for r in runs) if s in present]


def _slot_x(frame: pd.DataFrame, order: list[str]) -> np.ndarray:
    """Each row's x position: the index of its slot in ``order``."""
    return frame["slot"].map({v: i for i, v in enumerate(order)}).to_numpy(dtype=float)


def _slot_layout(slots: Mapping[str, list[str]], panel_h: float) -> dict[str, float]:
    """Panel width for the most engines in a panel; bottom room for the slanted engine names."""
    most = max((len(v) for v in slots.values()), default=1)
    longest = max((len(s) for v in slots.values() for s in v), default=1)
    return {
        "panel_w": max(PANEL_W * 0.6, SLOT_W * most + 0.4),
        "panel_h": panel_h,
        "bottom": MARGIN["bottom"] + TICK_CHAR_IN * longest,
    }


def _engine_axis(ax: plt.Axes, order: list[str]) -> None:
    ax.set_xticks(range(len(order)), order, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_xlabel("")


def _rows_of(jobs: pd.DataFrame) -> Callable[[pd.DataFrame], pd.Series]:
    """A mask builder: the rows of a per-epoch or per-step frame that belong to ``jobs``."""
    keys = set(zip(jobs["run"], jobs["job_id"]))
    return lambda frame: pd.Series(
        [k in keys for k in zip(frame["run"], frame["job_id"])], index=frame.index, dtype=bool
    )


def _accuracy_metric(jobs: pd.DataFrame) -> tuple[str, str]:
    return ("test_acc", "test accuracy") if jobs["test_acc"].notna().any() else ("best_val_acc", "best val accuracy")


def _max_seeds(frame: pd.DataFrame) -> int:
    return int(frame.groupby(["run", "backend", "cell", "mode"])["seed"].nunique().max()) if len(frame) else 0
