"""Writing a mini-competition: ``result.json``, ``ranking.csv``, ``result.xlsx``, ``report.html``.

The ranking table has one row per bid, cheapest whole-market cost first (bids without one,
inadmissible ones included, at the end). The HTML report shows both rankings, the winners and
the difference between them, and a chart of each bid's score beside its whole-market cost
(with the proven bound as a tick), using the chart and HTML helpers of
:mod:`allocator.report.html` so that every report of the engine looks the same.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.core.reasons import money
from allocator.design.minicompetition import WEEKS_PER_YEAR, MiniCompetition
from allocator.report.html import CSS, _e, _figure, _img, _kv_table, _png, _table
from allocator.report.writers import Sheet, key_value_sheet, write_csv, write_workbook

RESULT_JSON = "result.json"
RANKING_CSV = "ranking.csv"
WORKBOOK = "result.xlsx"
HTML_REPORT = "report.html"
COLUMNS = [
    "cost_rank", "score_rank", "provider", "rate", "quality", "score", "quality_score",
    "price_score", "whole_market_cost", "whole_market_bound", "gap", "status", "proven",
    "admissible", "abnormally_low", "awarded_volume", "min_volume", "max_volume", "award_cost",
    "extra_cost_vs_winner", "cost_block", "cost_framework", "cost_quality_zone", "cost_unmet",
    "cost_transfer", "runtime_s", "reason",
]
TERM_COLUMNS = ("block", "framework", "quality_zone", "unmet", "transfer")


def ranking_table(mc: MiniCompetition) -> pd.DataFrame:
    """One row per bid (columns :data:`COLUMNS`), cheapest whole-market cost first."""
    best = next((b.whole_market_cost for b in mc.by_cost() if b.whole_market_cost is not None),
                None)
    rows = []
    for b in mc.by_cost():
        row: dict[str, Any] = {c: getattr(b, c, None) for c in COLUMNS}
        row["extra_cost_vs_winner"] = (None if best is None or b.whole_market_cost is None
                                       else b.whole_market_cost - best)
        for term in TERM_COLUMNS:  # the whole-market cost by term: where the difference is
            row[f"cost_{term}"] = b.terms.get(term) if b.terms else None
        rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("cost_rank", "score_rank"):  # whole numbers, empty where there is none
        table[col] = table[col].astype("Int64")
    return table


def summary_sheet(mc: MiniCompetition) -> Sheet:
    """The headline fields as a readable label/value sheet (the workbook's first sheet)."""
    doc = mc.to_dict()
    rows = [(k.replace("_", " ").capitalize(), v) for k, v in doc.items() if k != "ranking"]
    return key_value_sheet("Summary", rows, heading=f"Mini-competition for lot {mc.lot}")


def write_mini_competition(mc: MiniCompetition, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the four files into ``out_dir`` (created if needed); all or nothing.

    The files are written into a temporary folder beside ``out_dir`` and moved into place, so
    an interrupted run leaves no half-written file.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        table = ranking_table(mc)
        with open(tmp / RESULT_JSON, "w", encoding="utf-8") as fh:
            json.dump(mc.to_dict(), fh, indent=1, allow_nan=False)
        # through the one output layer: formula-leading text neutralised, numbers formatted
        write_csv(tmp / RANKING_CSV, table)
        plain = table.astype(object).where(table.notna(), None)  # openpyxl knows no pd.NA
        write_workbook(tmp / WORKBOOK, [summary_sheet(mc), Sheet("ranking", plain)],
                       currency=mc.currency)
        (tmp / HTML_REPORT).write_text(render_mini_competition(mc, table), encoding="utf-8")
        out.mkdir(parents=True, exist_ok=True)
        names = [RESULT_JSON, RANKING_CSV, WORKBOOK, HTML_REPORT]
        for name in names:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out / n for n in names]


def headline(mc: MiniCompetition) -> list[tuple[str, str]]:
    """(label, text) rows: the winners, the difference and what is proven."""
    cur = mc.currency
    rows = [("lot", mc.lot), ("points", f"quality {mc.quality_points:g}, price "
                                        f"{mc.price_points:g}"),
            ("score winner", mc.score_winner or "none (no admissible bid)"),
            ("whole-market winner", mc.whole_market_winner or "none (no bid priced)")]
    if mc.lexicographic:
        # the explanation in the label, which wraps (a long value ran off the table's width)
        rows.append(("objective (the whole-market winner leaves the least unmet need, then "
                     "costs least)", "lexicographic"))
        unmet = mc.unmet_difference_week()
        if unmet is not None:
            rows.append(("score winner's unmet-need penalty above the winner's",
                         f"{money(unmet, cur)} a week"))
    if mc.difference_week is not None:
        # unmet-first, the score winner may cost less in all: said in words, not as "more
        # by" a negative amount
        diff = mc.difference_week
        rows.append((f"score winner costs the market {'less' if diff < 0 else 'more'} by",
                     f"{money(abs(diff), cur)} a week, "
                     f"{money(WEEKS_PER_YEAR * abs(diff), cur)} a year"))
        if mc.difference_week_low is not None and mc.difference_week_high is not None:
            rows.append(("score winner's cost minus the winner's, proven to lie in",
                         f"[{money(mc.difference_week_low, cur)}, "
                         f"{money(mc.difference_week_high, cur)}] a week"))
    rows.append(("whole-market winner proven", "yes" if mc.winner_proven else "no"))
    if mc.median_rate is not None:
        rows.append(("median rate (admissible bids)", money(mc.median_rate, cur)))
    rows.append(("runtime", f"{mc.runtime_s:.1f} s"))
    return rows


def sentence(mc: MiniCompetition) -> str:
    """One sentence a commissioner can read out."""
    cur = mc.currency
    if mc.score_winner is None or mc.whole_market_winner is None:
        return "No admissible bid could be both scored and priced on the whole market."
    unproven = "" if mc.winner_proven else " (not proven: see the notes)"
    if mc.lexicographic:
        return _lexicographic_sentence(mc, unproven)
    if mc.score_winner == mc.whole_market_winner:
        return (f"{mc.score_winner} wins on the published score and also costs the whole "
                "market least" + unproven + ".")
    diff = mc.difference_week or 0.0
    return (f"{mc.score_winner} wins on the published score, but awarding the block to "
            f"{mc.whole_market_winner} costs the whole market {money(diff, cur)} a week less "
            f"({money(WEEKS_PER_YEAR * diff, cur)} a year)"
            + ("" if mc.winner_proven else "; not proven: see the notes") + ".")


def _lexicographic_sentence(mc: MiniCompetition, unproven: str) -> str:
    """The sentence where the market's objective puts unmet need first (clarification 6):
    the whole-market winner leaves the least unmet need, and may cost more in all."""
    cur = mc.currency
    why = " (the market's objective puts unmet need first, then cost)"
    if mc.score_winner == mc.whole_market_winner:
        text = (f"{mc.score_winner} wins on the published score and is also the whole-market "
                f"winner: no other bid leaves less need unmet{why}{unproven}.")
        cheapest = mc.cheapest()
        winner = next(b for b in mc.bids if b.provider == mc.whole_market_winner)
        if cheapest is not None and cheapest.provider != winner.provider and \
                winner.whole_market_cost is not None and cheapest.whole_market_cost is not None \
                and winner.whole_market_cost - cheapest.whole_market_cost > 1e-6:
            more = winner.whole_market_cost - cheapest.whole_market_cost
            text += (f" {cheapest.provider} would cost the whole market {money(more, cur)} a "
                     "week less in all, leaving more need unmet.")
        return text
    diff = mc.difference_week or 0.0
    unmet = mc.unmet_difference_week() or 0.0
    head = (f"{mc.score_winner} wins on the published score, but awarding the block to "
            f"{mc.whole_market_winner} leaves less need unmet ({money(unmet, cur)} a week less"
            " in unmet-need penalty)")
    if diff >= 0:
        tail = (f" and costs the whole market {money(diff, cur)} a week less in all "
                f"({money(WEEKS_PER_YEAR * diff, cur)} a year)")
    else:
        tail = (f", though it costs the whole market {money(-diff, cur)} a week more in all "
                f"({money(-WEEKS_PER_YEAR * diff, cur)} a year)")
    return head + tail + why + ("" if mc.winner_proven else "; not proven: see the notes") + "."


def render_mini_competition(mc: MiniCompetition, table: pd.DataFrame | None = None) -> str:
    """The self-contained HTML report."""
    table = ranking_table(mc) if table is None else table
    title = f"Mini-competition for lot {mc.lot}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}: {_e(mc.instance)}</title>", f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>", f'<p class="note">{_e(mc.instance)}</p>',
        f"<p>{_e(sentence(mc))}</p>",
        _kv_table(headline(mc)),
    ]
    for note in mc.notes:
        parts.append(f'<p class="note">{_e(note)}</p>')
    if len(table):
        parts.append('<div class="charts">')
        parts.append(_img(ranking_chart(mc), "score and whole-market cost per bid"))
        parts.append("</div>")
    parts.append("<h2>Ranking by whole-market cost</h2>")
    shown = table[["cost_rank", "provider", "rate", "quality", "whole_market_cost",
                   "whole_market_bound", "status", "extra_cost_vs_winner", "awarded_volume"]]
    # Unmet-first (lexicographic), a bid ranked below the winner can cost less in all: the
    # column says "less" in words rather than showing a negative extra cost.
    shown = shown.assign(extra_cost_vs_winner=[
        _against_winner(v, mc.currency) for v in shown["extra_cost_vs_winner"]]).rename(
        columns={"extra_cost_vs_winner": "cost_in_all_against_the_winner"})
    parts.append(_table(shown))
    # the reasons are sentences: their own table, where they have the width to be read
    flagged = table[table["reason"].fillna("").astype(str) != ""]
    if len(flagged):
        parts.append("<h2>Flags and reasons</h2>")
        parts.append(_table(flagged[["provider", "status", "reason"]]))
    parts.append("<h2>Whole-market cost by term (expected, a week)</h2>")
    parts.append(_table(table[table["whole_market_cost"].notna()][
        ["provider", "cost_block", "cost_framework", "cost_quality_zone", "cost_unmet",
         "cost_transfer", "whole_market_cost"]]))
    parts.append("<h2>Ranking by published score</h2>")
    by_score = table[table["score_rank"].notna()].sort_values("score_rank", kind="stable")
    parts.append(_table(by_score[["score_rank", "provider", "rate", "quality", "quality_score",
                                  "price_score", "score", "abnormally_low"]]))
    parts.append(
        '<p class="note">Score = quality points x quality / best admissible quality + price '
        "points x lowest admissible rate / rate. Whole-market cost = expected weekly cost of "
        "the design model (every scenario) with only that bid on the lot, exactly one provider "
        "there, other lots' bids and limits dropped, design targets ignored, contracts in force "
        f"kept (DESIGN.md 9.4). Money in {_e(mc.currency)} a week; a year is "
        f"{WEEKS_PER_YEAR} weeks.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _against_winner(value: Any, currency: str) -> str:
    """A bid's whole-market cost against the winner's, in words: "£301.00 more", "£12.50
    less" (possible only unmet-first), "the same", or "–" where either is not priced."""
    if value is None or pd.isna(value):
        return "–"
    if abs(float(value)) < 0.005:
        return "the same"
    return f"{money(abs(float(value)), currency)} {'more' if value > 0 else 'less'}"


def ranking_chart(mc: MiniCompetition) -> bytes:
    """Two panels: each bid's score, and its whole-market cost with the bound as a tick."""
    bids = mc.by_cost()
    names = [b.provider for b in bids]
    fig, ax = _figure(8, 3.2)
    fig.clear()
    left, right = fig.subplots(1, 2)
    colours = ["#c92a2a" if not b.admissible else "#e67700" if b.abnormally_low
               else "#4263eb" for b in bids]
    left.barh(names[::-1], [b.score or 0.0 for b in bids][::-1], color=colours[::-1])
    # Costs as dots on an axis that need not start at 0 (bars on a cut axis would make a
    # 0.5% difference look like a halving): the dot is the cost found, the black tick the
    # proven bound, the line between them what is not proven.
    costs = [b.whole_market_cost for b in bids]
    right.set_yticks(range(len(names)), names[::-1])
    right.set_ylim(-0.6, len(names) - 0.4)
    shown = [c for c in costs if c is not None] + [
        b.whole_market_bound for b in bids if b.whole_market_bound is not None]
    if shown:
        lo, hi = min(shown), max(shown)
        pad = max(0.05 * (hi - lo), 0.002 * max(abs(hi), 1.0))
        right.set_xlim(lo - pad, hi + pad)
    for y, b in enumerate(bids[::-1]):
        if b.whole_market_cost is not None:
            colour = "#2b8a3e" if b.provider == mc.whole_market_winner else "#495057"
            if b.whole_market_bound is not None:
                right.plot([b.whole_market_bound, b.whole_market_cost], [y, y], color=colour,
                           lw=1, alpha=0.6)
            right.plot([b.whole_market_cost], [y], "o", color=colour, ms=7)
        if b.whole_market_bound is not None:
            right.plot([b.whole_market_bound] * 2, [y - 0.3, y + 0.3], color="black", lw=1.5)
        if b.whole_market_cost is None:
            label = ("inadmissible" if not b.admissible else "infeasible" if b.infeasible
                     else "no cost")
            right.annotate(label, (right.get_xlim()[0], y), xytext=(3, 0),
                           textcoords="offset points", va="center", fontsize=8)
        if not b.admissible:
            left.annotate("inadmissible", (0, y), xytext=(3, 0), textcoords="offset points",
                          va="center", fontsize=8)
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    right.xaxis.set_major_locator(MaxNLocator(4))
    right.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.0f}"))
    right.set_title(f"Whole-market cost a week ({mc.currency}; axis not from 0)\n"
                    "dot: cost found; black tick: proven bound", fontsize=10)
    left.set_title("Published score (points)", fontsize=10)
    for ax_ in (left, right):
        for side in ("top", "right"):
            ax_.spines[side].set_visible(False)
    del ax
    return _png(fig)
