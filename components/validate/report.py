"""The gate's offline HTML report: verdict paragraph, rule table, per-category figures, failing-sample thumbnails.

One self-contained file: inline CSS, thumbnails embedded as base64 JPEG, no scripts, no CDN.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import pandas as pd

from components.manifest.schema import CATEGORIES
from components.validate.gate import GateResult

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
.verdict{padding:.8em 1em;border-radius:6px;margin:1em 0} .ok{background:#e7f6ea;border:1px solid #9bd3a6}
.bad{background:#fdecea;border:1px solid #f1a9a0}
table{border-collapse:collapse;width:100%;margin:.5em 0} th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5} td.num{text-align:right;font-variant-numeric:tabular-nums}
.passed{color:#1a7f37;font-weight:600} .failed{color:#c62828;font-weight:600} .warned{color:#b26a00;font-weight:600}
.off{color:#888} .ex{font-family:ui-monospace,monospace;font-size:12px;color:#444}
.thumbs{display:flex;flex-wrap:wrap;gap:10px} figure{margin:0;border:1px solid #ddd;padding:4px;border-radius:4px}
figure img{height:96px;margin-right:2px} figcaption{font-size:11px;font-family:ui-monospace,monospace;max-width:210px;overflow-wrap:anywhere}
.notes{color:#555;font-size:13px}
"""


def thumbnail_data_uri(path: Path, height: int = 96) -> str | None:
    """A small JPEG of the image at `path` as a data: URI, or None if it cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            img.thumbnail((height * 4, height))
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=80)
    except Exception:  # noqa: BLE001 - a missing or broken file simply has no thumbnail
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _fmt(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.0f}" if v.is_integer() and abs(v) >= 1 else f"{v:.3f}"
    return html.escape(str(v))


def _thumbs(rule_ids: list[str], manifest: pd.DataFrame, dataset_dir: Path) -> str:
    by_id = manifest.set_index("sample_id")
    cells = []
    for sid in rule_ids:
        if sid not in by_id.index:
            continue
        row = by_id.loc[sid]
        imgs = []
        for col in ("person_path", "garment_path", "cloth_mask_path"):
            rel = row.get(col)
            uri = thumbnail_data_uri(Path(os.path.normpath(os.path.join(dataset_dir, rel)))) if isinstance(rel, str) else None
            imgs.append(f'<img alt="{col}" src="{uri}">' if uri else f"<span class='off'>[{col} missing]</span>")
        cells.append(f"<figure>{''.join(imgs)}<figcaption>{html.escape(sid)} · {html.escape(str(row['category']))}"
                     f" · {html.escape(str(row['split']))}</figcaption></figure>")
    return f"<div class='thumbs'>{''.join(cells)}</div>" if cells else ""


def render_report(result: GateResult, manifest: pd.DataFrame, dataset_dir: Path, profile: str = "") -> str:
    """The whole report as one HTML string."""
    cls = "ok" if result.passed else "bad"
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>vton data-quality gate</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Data-quality gate: {'passed' if result.passed else 'FAILED'}</h1>",
        f"<div class='notes'>dataset {html.escape(result.dataset)}{' · profile ' + html.escape(profile) if profile else ''}</div>",
        f"<div class='verdict {cls}'>{html.escape(result.summary())}</div>",
        "<h2>Rules</h2><table><tr><th>rule</th><th>severity</th><th>status</th><th>failing</th><th>checked</th>",
        *[f"<th>{c}</th>" for c in CATEGORIES],
        "<th>examples</th></tr>",
    ]
    for r in result.rules:
        per = [f"<td class='num'>{r.per_category.get(c, 0) if r.per_category else '-'}</td>" for c in CATEGORIES]
        ex = "<br>".join(html.escape(e) for e in r.examples)
        out.append(
            f"<tr><td><b>{r.name}</b><br><span class='notes'>{html.escape(r.description)}</span></td>"
            f"<td>{r.severity}</td><td class='{r.status}'>{r.status}</td><td class='num'>{r.unexpected}</td>"
            f"<td class='num'>{r.checked}</td>{''.join(per)}<td class='ex'>{ex}</td></tr>"
        )
    out.append("</table>")
    names = list(next(iter(result.figures.values()), {}).keys())
    out.append("<h2>Per category</h2><table><tr><th>figure</th>"
               + "".join(f"<th>{c}</th>" for c in result.figures) + "</tr>")
    for n in names:
        out.append(f"<tr><td>{n}</td>" + "".join(
            f"<td class='num'>{_fmt(result.figures[c].get(n))}</td>" for c in result.figures) + "</tr>")
    out.append("</table>")
    shown = [r for r in result.rules if r.status in ("failed", "warned") and r.sample_ids]
    if shown:
        out.append("<h2>Failing samples</h2>")
        for r in shown:
            out.append(f"<h3 class='{r.status}'>{r.name}</h3>" + _thumbs(r.sample_ids, manifest, dataset_dir))
    out.append("<h2>Expectations</h2><table><tr><th>rule</th><th>GX expectation</th><th>table</th><th>column</th>"
               "<th>where</th><th>result</th><th>unexpected</th></tr>")
    for r in result.rules:
        for e in r.expectations:
            out.append(f"<tr><td>{r.name}</td><td>{e['type']}</td><td>{e['table']}</td><td>{html.escape(e['column'])}</td>"
                       f"<td>{html.escape(e['where'])}</td><td class='{'passed' if e['success'] else 'failed'}'>"
                       f"{'ok' if e['success'] else 'unexpected'}</td><td class='num'>{e['unexpected']}</td></tr>")
    out.append("</table>")
    if result.notes:
        out.append("<h2>How this was checked</h2><ul class='notes'>"
                   + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out)
