"""The daily report as one self-contained HTML page (and the body the PDF lays out).

``report_html`` gives a page for a browser or an email, with its charts as inline
SVG. ``report_body`` is shared with :mod:`touchpoint.reports.pdf`, which passes
``charts`` (image names rendered by QtCharts) and gets markup that Qt's rich-text
engine lays out: plain tables with attributes, little CSS.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from touchpoint.domain.metrics import work_days_text
from touchpoint.reports import format as fmt
from touchpoint.services.reports import DailyReport, RepFigures, Voice

GREEN = "#1b7f3b"
RED = "#b3261e"
GREEN_BG = "#e3f4e8"
RED_BG = "#fbe4e2"
HEAD_BG = "#dde6f0"
MUTED = "#5f6b7a"
TOP_OUTCOMES = 6


def report_tz(report: DailyReport) -> tzinfo:
    try:
        return ZoneInfo(report.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric_from: int = 1,
    text_columns: Sequence[int] = (),
    total: Sequence[str] | None = None,
    widths: Sequence[int] | None = None,
    more: int = 0,
) -> str:
    """A table; cells are HTML already escaped. Columns from ``numeric_from`` align right
    (numbers), except ``text_columns``. ``more``: the rows cut, said on a last row.

    Rows never split across a printed page (the PDF lays this out too)."""

    def cell(tag: str, n: int, content: str, extra: str = "") -> str:
        align = ' align="right"' if n >= numeric_from and n not in text_columns else ""
        width = f' width="{widths[n]}%"' if widths and tag == "th" else ""
        return f"<{tag}{align}{width}{extra}>{content}</{tag}>"

    out = [
        '<table class="grid" width="100%" cellspacing="0" cellpadding="4" border="1" '
        'style="border-collapse: collapse; border-color: #c8d1dc">'
    ]
    out.append(
        f'<thead><tr bgcolor="{HEAD_BG}">'
        + "".join(cell("th", n, _e(h)) for n, h in enumerate(headers))
        + "</tr></thead><tbody>"
    )
    for row in rows:
        out.append("<tr>" + "".join(cell("td", n, c) for n, c in enumerate(row)) + "</tr>")
    out.append(_more_row(more, len(headers)))
    if total is not None:
        out.append(
            "<tr>" + "".join(cell("td", n, f"<b>{c}</b>") for n, c in enumerate(total)) + "</tr>"
        )
    if not rows and total is None:
        out.append(f'<tr><td colspan="{len(headers)}"><i>nothing in this period</i></td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _coloured(text: str, state: str) -> str:
    if state == "over":
        return f'<span style="color:{GREEN}"><b>{_e(text)}</b></span>'
    if state == "under":
        return f'<span style="color:{RED}"><b>{_e(text)}</b></span>'
    return _e(text)


def _goal_cells(figures: RepFigures, kinds: Sequence[str]) -> list[str]:
    lines = {g.kind: g for g in figures.goals}
    cells = []
    for kind in kinds:
        g = lines.get(kind)
        if g is None:
            cells.append(fmt.DASH)
            continue
        text = f"{g.done} / {fmt.goal_number(g.goal)}" if g.goal is not None else str(g.done)
        if g.goal:
            text += " " + _coloured(f"({fmt.over_under(g)})", fmt.goal_state(g))
        cells.append(text if g.goal else _e(text))
    return cells


def _total_progress(figures: RepFigures) -> str:
    goal = figures.goal_total
    if not goal:
        return fmt.DASH
    done = sum(g.done for g in figures.goals if g.goal)
    pct = 100.0 * done / goal
    return _coloured(fmt.percent(pct), "over" if pct >= 100 else "under")


def _more_row(count: int, columns: int) -> str:
    """The last row of a cut table: "and 4 more" (nothing when nothing is cut)."""
    if count <= 0:
        return ""
    return f'<tr><td colspan="{columns}" style="color:{MUTED}"><i>{fmt.more(count)}</i></td></tr>'


def _kpis(report: DailyReport) -> str:
    team = report.team
    goal = team.goal_total
    done_against_goal = sum(g.done for g in team.goals if g.goal)
    if goal:
        goal_text = (
            f"{fmt.percent(100 * done_against_goal / goal)} of goal ({done_against_goal} of "
            f"{fmt.goal_number(goal)})"
        )
    elif not report.goals_set:
        goal_text = "no goals set"
    elif all(d.day.weekday() not in report.work_days for d in report.activity_by_day):
        goal_text = "no goal: not a working day"
    else:
        goal_text = "no goal counts in this period (weekly goals: see the weekly report)"
    rows = [
        ("Interactions", f"{team.interactions}", goal_text),
        (
            "Promise-keeping rate",
            fmt.rate(team.promises),
            f"{team.promises.kept} kept, {team.promises.late} late, "
            f"{team.promises.overdue} overdue of {team.promises.due} due",
        ),
        (
            "Satisfaction",
            fmt.score(team.satisfaction),
            f"change {fmt.change(team.satisfaction_change)} on the period before; "
            f"{team.scored} scored",
        ),
        (
            "Customers going quiet",
            str(report.quiet_total),
            f"owned by these reps, as of {fmt.local_minute(report.as_of, report_tz(report))}",
        ),
        (
            "Profiles incomplete",
            f"{report.hygiene.incomplete} of {report.hygiene.checked}",
            f"{report.hygiene.stale} not confirmed for a year; average completeness "
            f"{fmt.percent(report.hygiene.average_percent)}",
        ),
    ]
    out = ['<table class="kpi" width="100%" cellspacing="0" cellpadding="5" border="0">']
    for label, value, note in rows:
        out.append(
            f'<tr><td width="24%"><b>{_e(label)}</b></td>'
            f'<td width="26%" align="right" nowrap><span style="font-size:12pt"><b>{_e(value)}</b>'
            f'</span></td><td style="color:{MUTED}">&nbsp;&nbsp;{_e(note)}</td></tr>'
        )
    out.append("</table>")
    return "".join(out)


def _voice_block(
    report: DailyReport, voices: Sequence[Voice], total: int, tz: tzinfo, *, good: bool
) -> str:
    if not voices:
        return f'<p style="color:{MUTED}"><i>none in this period</i></p>'
    colour, background = (GREEN, GREEN_BG) if good else (RED, RED_BG)
    out = []
    for v in voices:
        out.append(
            f'<table width="100%" cellspacing="0" cellpadding="6" border="0" '
            f'bgcolor="{background}"><tr><td style="border-left: 4px solid {colour}">'
            f'<span style="color:{colour}"><b>{v.score}/5</b></span>&nbsp; '
            f"<i>“{_e(v.words)}”</i><br>"
            f'<span style="color:{MUTED}">{_e(v.customer)} · {_e(v.kind)} with '
            f"{_e(report.display(v.rep))} · {_e(fmt.local_minute(v.occurred_at, tz))}"
            "</span></td></tr></table><p></p>"
        )
    if total > len(voices):
        out.append(f'<p style="color:{MUTED}"><i>{fmt.more(total - len(voices))}</i></p>')
    return "".join(out)


def report_body(
    report: DailyReport, *, charts: dict[str, str] | None = None, charts_after: bool = False
) -> str:
    """The report's sections as HTML. ``charts`` maps a chart name to the markup that
    shows it (an inline SVG, or an ``<img>`` of a rendered QtChart); ``charts_after`` puts
    each after its table (a big team's tall charts would otherwise leave half pages)."""
    charts = charts or {}
    before = {} if charts_after else charts
    after = charts if charts_after else {}
    tz = report_tz(report)
    kinds = report.kinds
    people = report.reps
    name = report.display
    parts: list[str] = []

    parts.append(f"<h1>{_e(fmt.title(report))}</h1>")
    parts.append(
        f'<p style="color:{MUTED}">{_e(report.period_text)} · times in {_e(report.timezone)} · '
        f"figures as of {_e(fmt.local_minute(report.as_of, tz))} · "
        f"generated {_e(fmt.generated(report, tz))}</p>"
    )
    parts.append("<h2>At a glance</h2>" + _kpis(report))

    # Activity against goal.
    parts.append("<h2>Activity against goal</h2>")
    if not report.goals_set:
        parts.append(
            f'<p style="color:{MUTED}">No goals are set for these reps '
            f"({escape(report.goals_hint)}).</p>"
        )
    else:
        parts.append(
            f'<p style="color:{MUTED}">Goals count on working days '
            f"({_e(work_days_text(report.work_days))}): a daily goal times the working days "
            "in the period; a weekly goal is measured over whole weeks only (the weekly "
            "report).</p>"
        )
    parts.append(before.get("activity", ""))
    headers = ["Rep", *[k.capitalize() for k in kinds], "All", "Against goal"]
    rows = [
        [_e(name(r.rep)), *_goal_cells(r, kinds), str(r.interactions), _total_progress(r)]
        for r in people
    ]
    total = ["Team", *_goal_cells(report.team, kinds), str(report.team.interactions)]
    total.append(_total_progress(report.team))
    parts.append(_table(headers, rows, total=total if len(people) > 1 else None))
    parts.append(after.get("activity", ""))

    # Outcomes.
    outcomes = fmt.top_outcomes(report.team.by_outcome, TOP_OUTCOMES)
    if outcomes:
        parts.append("<h3>Outcomes</h3>")
        rest = [sum(n for o, n in r.by_outcome.items() if o not in outcomes) for r in [*people]]
        show_rest = any(rest)
        headers = [
            "Rep",
            *[o if o != "(none)" else "no outcome" for o in outcomes],
            *(["other"] if show_rest else []),
        ]
        rows = [
            [
                _e(name(r.rep)),
                *[str(r.by_outcome.get(o, 0)) for o in outcomes],
                *([str(x)] if show_rest else []),
            ]
            for r, x in zip(people, rest, strict=True)
        ]
        team_rest = sum(rest)
        total = [
            "Team",
            *[str(report.team.by_outcome.get(o, 0)) for o in outcomes],
            *([str(team_rest)] if show_rest else []),
        ]
        parts.append(_table(headers, rows, total=total if len(people) > 1 else None))

    # Promises.
    parts.append("<h2>Promises to customers</h2>")
    parts.append(
        f'<p style="color:{MUTED}">Follow-ups due in the period: kept (done by the due time), '
        "late (done after it), overdue (still open after it). Rate = kept / (kept + late + "
        "overdue); nothing due is “no data”.</p>"
    )
    parts.append(before.get("promises", ""))
    headers = ["Rep", "Made", "Due", "Kept", "Late", "Overdue", "Not yet due", "Keeping rate"]

    def promise_row(r: RepFigures) -> list[str]:
        p = r.promises
        rate_state = "" if p.rate is None else ("over" if p.rate >= 0.9 else "under")
        return [
            _e(name(r.rep)),
            str(r.followups_made),
            str(p.due),
            str(p.kept),
            str(p.late),
            _coloured(str(p.overdue), "under" if p.overdue else ""),
            str(p.open),
            _coloured(fmt.rate(p), rate_state),
        ]

    parts.append(
        _table(
            headers,
            [promise_row(r) for r in people],
            total=promise_row(report.team) if len(people) > 1 else None,
        )
    )
    parts.append(after.get("promises", ""))

    # Satisfaction.
    parts.append("<h2>Customer satisfaction</h2>")
    parts.append(before.get("satisfaction", ""))
    headers = ["Rep", "Scored", "Average (1–5)", "Period before", "Change"]

    def satisfaction_row(r: RepFigures) -> list[str]:
        delta = r.satisfaction_change
        state = "" if delta is None or abs(delta) < 0.05 else ("over" if delta > 0 else "under")
        return [
            _e(name(r.rep)),
            str(r.scored),
            fmt.score(r.satisfaction),
            fmt.score(r.satisfaction_before),
            _coloured(fmt.change(delta), state),
        ]

    parts.append(
        _table(
            headers,
            [satisfaction_row(r) for r in people],
            total=satisfaction_row(report.team) if len(people) > 1 else None,
        )
    )
    parts.append(after.get("satisfaction", ""))
    parts.append("<h3>In the customers’ own words: the best</h3>")
    parts.append(_voice_block(report, report.best, report.best_total, tz, good=True))
    parts.append("<h3>… and the worst</h3>")
    parts.append(_voice_block(report, report.worst, report.worst_total, tz, good=False))

    # Going quiet.
    parts.append("<h2>Customers going quiet</h2>")
    more = report.quiet_more
    parts.append(
        f'<p style="color:{MUTED}">Active customers with no interaction for longer than the '
        "quiet setting, or with falling satisfaction. "
        f"{report.quiet_total} in all"
        + (f"; the {len(report.quiet)} longest silent:" if more else ".")
        + "</p>"
    )
    rows = [
        [
            _e(q.name),
            _e(name(q.owner)),
            _e(fmt.local_day(q.last_touch, tz) or "never"),
            _e(fmt.score(q.satisfaction)),
            _e(q.reason),
        ]
        for q in report.quiet
    ]
    parts.append(
        _table(
            ["Customer", "Owner", "Last touch", "Score", "Why"],
            rows,
            numeric_from=3,
            text_columns=(4,),
            widths=[30, 16, 13, 9, 32],
            more=more,
        )
    )

    # Data hygiene.
    parts.append("<h2>Data hygiene</h2>")
    h = report.hygiene
    parts.append(
        f"<p>{h.checked} active and prospect customers: {h.incomplete} miss a key item, "
        f"{h.stale} not confirmed or changed for a year; average completeness "
        f"{fmt.percent(h.average_percent)}."
        + (f" The {len(h.worst)} least complete:" if h.more else "")
        + "</p>"
    )
    rows = [
        [
            _e(x.customer),
            _e(name(x.owner)),
            f"{x.percent}%",
            _e(", ".join(x.missing) or fmt.DASH),
            _coloured("stale", "under") if x.stale else "",
        ]
        for x in h.worst
    ]
    parts.append(
        _table(
            ["Customer", "Owner", "Complete", "Missing", "Confirmed"],
            rows,
            numeric_from=2,
            text_columns=(3, 4),
            widths=[25, 14, 12, 36, 13],
            more=h.more,
        )
    )
    return "\n".join(parts)


_PAGE_CSS = f"""
body {{ font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #1f2328;
  max-width: 1000px; margin: 24px auto; }}
h1 {{ font-size: 18pt; margin-bottom: 2px; }}
h2 {{ font-size: 13pt; margin-top: 22px; border-bottom: 1px solid #c8d1dc; }}
h3 {{ font-size: 11pt; }}
table.grid {{ border-collapse: collapse; margin: 6px 0; }}
table.grid th, table.grid td {{ border: 1px solid #c8d1dc; padding: 4px 6px; }}
table.grid th {{ background: {HEAD_BG}; text-align: left; }}
table.kpi td {{ padding: 4px 6px; border-bottom: 1px solid #eef1f4; }}
svg {{ display: block; margin: 6px 0; }}
footer {{ color: {MUTED}; font-size: 8pt; margin-top: 24px; }}
"""


def _svg_bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    line: tuple[str, Sequence[float | None]] | None = None,
    stacked: bool = False,
    scores: bool = False,
) -> str:
    """A small bar chart with its title as inline SVG (the browser page has no Qt to draw
    with). The axis steps are whole, nice numbers (0, 5, 10...); scores go 1 to 5."""
    many = len(labels) > 10
    width, left, top, right = 900, 44, 34, 10
    bottom = 86 if many else 44
    height = 250 + (bottom - 44)
    plot_w, plot_h = width - left - right, height - bottom - top
    totals = (
        [sum(s[2][i] for s in series) for i in range(len(labels))]
        if stacked
        else [max((s[2][i] for s in series), default=0) for i in range(len(labels))]
    )
    if scores:
        peak, step = 5.0, 1.0
    else:
        highest = max([*totals, *(v for v in (line[1] if line else []) if v is not None), 0])
        peak, step = fmt.nice_scale(highest)
    n = max(len(labels), 1)
    slot = plot_w / n
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial" font-size="11" '
        f'role="img" aria-label="{_e(title)}">',
        f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" font-size="13" '
        f'font-weight="bold">{_e(title)}</text>',
    ]
    for tick in range(round(peak / step) + 1):
        value = tick * step
        y = top + plot_h - plot_h * value / peak
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e5e9ef"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{fmt.fixed(value)}</text>"
        )
    bars = 1 if stacked else max(len(series), 1)
    bar_w = slot * 0.7 / bars
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.15
        base = 0.0
        for j, (_name, colour, values) in enumerate(series):
            value = values[i]
            h = plot_h * value / peak
            x = x0 if stacked else x0 + j * bar_w
            y = top + plot_h - h - (plot_h * base / peak if stacked else 0)
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{_e(label)}: {_e(fmt.goal_number(value))}</title></rect>'
            )
            if stacked:
                base += value
        x_mid = left + i * slot + slot / 2
        y_label = top + plot_h + 14
        turn = f' transform="rotate(-40 {x_mid:.1f} {y_label})"' if many else ""
        anchor = "end" if many else "middle"
        out.append(
            f'<text x="{x_mid:.1f}" y="{y_label}" text-anchor="{anchor}"{turn}>{_e(label)}</text>'
        )
    if line is not None:
        points = [
            (left + i * slot + slot / 2, top + plot_h - plot_h * v / peak)
            for i, v in enumerate(line[1])
            if v is not None
        ]
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{RED}" stroke-width="2" '
                'stroke-dasharray="6 4"/>'
            )
    legend_x = left
    for name, colour, _ in [*series, *([(line[0], RED, [])] if line else [])]:
        out.append(
            f'<rect x="{legend_x}" y="{height - 16}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="{height - 7}">{_e(name)}</text>'
        )
        legend_x += 24 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)


BLUE = "#3b6ea8"
PALE_BLUE = "#c7d3e3"
AMBER = "#d99a21"
PURPLE = "#6a4fa3"


def svg_charts(report: DailyReport) -> dict[str, str]:
    """The three charts of the report as inline SVG, as the PDF draws them (none where
    there is nothing to show): activity per day (a week) or per rep (a day), against
    the goal when goals are set, else every interaction; promises per rep; average
    satisfaction per day or per rep."""
    charts: dict[str, str] = {}
    names = [report.display(r.rep) for r in report.reps]
    if not report.team.interactions and not report.goals_set:
        pass
    elif report.days > 1:
        labels = [d.day.strftime("%a %d") for d in report.activity_by_day]
        goals = [d.goal for d in report.activity_by_day]
        if any(g is not None for g in goals):
            charts["activity"] = _svg_bars(
                "Interactions per day against the daily goal",
                labels,
                [
                    (
                        "interactions of kinds with a daily goal",
                        BLUE,
                        [d.toward_goal for d in report.activity_by_day],
                    )
                ],
                line=("daily goal", goals),
            )
        else:
            charts["activity"] = _svg_bars(
                "Interactions per day",
                labels,
                [("interactions", BLUE, [d.interactions for d in report.activity_by_day])],
            )
    else:
        goal = [r.goal_total or 0 for r in report.reps]
        if any(goal):
            charts["activity"] = _svg_bars(
                "Interactions against goal, per rep",
                names,
                [
                    (
                        "interactions of kinds with a goal",
                        BLUE,
                        [sum(g.done for g in r.goals if g.goal) for r in report.reps],
                    ),
                    ("goal", PALE_BLUE, goal),
                ],
            )
        else:
            charts["activity"] = _svg_bars(
                "Interactions per rep",
                names,
                [("interactions", BLUE, [r.interactions for r in report.reps])],
            )
    if report.team.promises.due:
        charts["promises"] = _svg_bars(
            "Promises due: kept, late and overdue, per rep",
            names,
            [
                ("kept", GREEN, [r.promises.kept for r in report.reps]),
                ("late", AMBER, [r.promises.late for r in report.reps]),
                ("overdue", RED, [r.promises.overdue for r in report.reps]),
            ],
            stacked=True,
        )
    if report.team.scored:
        if report.days > 1:
            points = {p.day: p.average for p in report.satisfaction_by_day}
            labels = [d.day.strftime("%a %d") for d in report.activity_by_day]
            values = [points.get(d.day, 0.0) for d in report.activity_by_day]
            title = "Average satisfaction per day (1 to 5)"
        else:
            scored = [r for r in report.reps if r.satisfaction is not None]
            labels = [report.display(r.rep) for r in scored]
            values = [r.satisfaction or 0.0 for r in scored]
            title = "Average satisfaction per rep (1 to 5)"
        charts["satisfaction"] = _svg_bars(
            title, labels, [("average", PURPLE, values)], scores=True
        )
    return charts


def report_html(report: DailyReport) -> str:
    """A complete page: open it in a browser or attach it to an email."""
    tz = report_tz(report)
    body = report_body(report, charts=svg_charts(report))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(fmt.title(report))} · {_e(report.period_text)}</title>"
        f"<style>{_PAGE_CSS}</style></head><body>\n{body}\n"
        f"<footer>Touchpoint · {_e(report.period_text)} · generated "
        f"{_e(fmt.generated(report, tz))} ({_e(report.timezone)})</footer>\n</body></html>\n"
    )


def write_html(report: DailyReport, path: str) -> None:
    from touchpoint.policy import check_export_format
    from touchpoint.services.activity_export import atomic_target

    check_export_format("html")
    with atomic_target(path) as temp:
        temp.write_text(report_html(report), encoding="utf-8")
