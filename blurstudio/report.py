"""The cull's report: REPORT/index.html (a contact sheet), REPORT/cull.csv and REPORT/cull.json.

index.html is self-contained (inline CSS and JavaScript, thumbnails embedded as data URIs, so it
can be mailed or opened anywhere); each thumbnail links to its overlay in REPORT/overlays/. Photos
are grouped by verdict (keepers first) and sorted by keeper score within a group; buttons filter by
verdict. Every file is written atomically.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path
from urllib.parse import quote

from .cull import VERDICTS, CullConfig, Verdict
from .images import atomic_write

CSV_COLUMNS = ("path", "verdict", "score", "rating", "reason", "sharp", "motion", "defocus", "subject",
               "subject_x", "subject_y", "subject_edge_share", "motion_region", "blur_px", "width", "height",
               "overlay", "sidecar", "error")
JSON_VERSION = 1
BADGE = {"sharp": "#1b7f4c", "shallow focus": "#2f6db5", "subject motion": "#b07900",
         "missed focus": "#b3261e", "camera shake": "#7d2a9e"}


def photo_record(path: Path, verdict: Verdict | None, full_size: tuple[int, int], photo_id: str,
                 sidecar: str = "", error: str = "") -> dict:
    """One photo's row of the report (the JSON object; the CSV flattens it)."""
    rec: dict = {"path": str(path), "id": photo_id, "width": int(full_size[0]), "height": int(full_size[1])}
    if verdict is not None:
        rec.update(verdict.to_dict())
        rec["overlay"] = f"overlays/{photo_id}.jpg"
        rec["thumb"] = f"thumbs/{photo_id}.jpg"
    if sidecar:
        rec["sidecar"] = sidecar
    if error:
        rec["error"] = error
    return rec


def _sort(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: (VERDICTS.index(r["verdict"]), -r["score"], r["path"]))


def write_json(out_dir: Path, records: list[dict], errors: list[dict], meta: dict) -> Path:
    counts = {v: sum(r["verdict"] == v for r in records) for v in VERDICTS}
    doc = {"version": JSON_VERSION, **meta, "counts": counts, "photos": _sort(records), "errors": errors}
    path = out_dir / "cull.json"
    atomic_write(path, lambda f: f.write(json.dumps(doc, indent=1).encode()))
    return path


def write_csv(out_dir: Path, records: list[dict], errors: list[dict]) -> Path:
    buf = io.StringIO()
    wr = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    wr.writeheader()
    for r in _sort(records):
        row = dict(r)
        row["subject_x"], row["subject_y"] = r["subject_centre"]
        wr.writerow(row)
    for e in errors:
        wr.writerow({"path": e["input"], "error": e["error"]})
    path = out_dir / "cull.csv"
    atomic_write(path, lambda f: f.write(buf.getvalue().encode()))
    return path


_CSS = """
body{font:14px system-ui,sans-serif;margin:0;background:#1e1e1e;color:#ddd}
header{position:sticky;top:0;background:#111;padding:10px 16px;z-index:1}
h1{font-size:18px;margin:0 0 8px}
button{background:#333;color:#ddd;border:1px solid #555;border-radius:4px;padding:4px 10px;margin:2px;cursor:pointer}
button.on{background:#ddd;color:#111}
section{padding:8px 16px}
h2{font-size:16px;margin:12px 0 6px}
.grid{display:flex;flex-wrap:wrap;gap:10px}
.card{width:240px;background:#2a2a2a;border-radius:6px;overflow:hidden}
.card img{width:240px;height:170px;object-fit:contain;background:#000;display:block}
.card .t{padding:4px 8px;font-size:12px;word-break:break-all}
.badge{display:inline-block;color:#fff;border-radius:3px;padding:1px 6px;font-size:11px}
.score{float:right;font-weight:bold}
.hidden{display:none}
.errors li{color:#f99}
"""

_JS = """
function show(v){document.querySelectorAll('section[data-verdict]').forEach(function(s){
 s.classList.toggle('hidden', v!=='all' && s.dataset.verdict!==v);});
 document.querySelectorAll('header button').forEach(function(b){b.classList.toggle('on', b.dataset.v===v);});}
"""


def _data_uri(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def write_html(out_dir: Path, records: list[dict], errors: list[dict], title: str) -> Path:
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>",
             f"<style>{_CSS}</style><script>{_JS}</script></head><body>",
             f"<header><h1>{e(title)}</h1><button data-v='all' class='on' onclick=\"show('all')\">all ({len(records)})</button>"]
    groups = {v: [r for r in _sort(records) if r["verdict"] == v] for v in VERDICTS}
    for v, rs in groups.items():
        parts.append(f"<button data-v='{e(v)}' onclick=\"show('{e(v)}')\">{e(v)} ({len(rs)})</button>")
    parts.append("<div style='font-size:12px;margin-top:4px'>yellow outline: the sharp regions; "
                 "click a photo for its blur map (orange motion, blue defocus)</div></header>")
    for v, rs in groups.items():
        if not rs:
            continue
        parts.append(f"<section data-verdict='{e(v)}'><h2>{e(v)} ({len(rs)})</h2><div class='grid'>")
        for r in rs:
            src = _data_uri(out_dir / r["thumb"])
            parts.append(
                f"<div class='card'><a href='{e(quote(r['overlay']))}' target='_blank'>"
                f"<img loading='lazy' src='{src}' alt='{e(Path(r['path']).name)}'></a><div class='t'>"
                f"<span class='badge' style='background:{BADGE[v]}'>{e(v)}</span>"
                f"<span class='score' title='keeper score'>{r['score']}</span><br>"
                f"<span title='{e(r['path'])}'>{e(Path(r['path']).name)}</span><br>{e(r['reason'])}</div></div>")
        parts.append("</div></section>")
    if errors:
        parts.append(f"<section><h2>not read ({len(errors)})</h2><ul class='errors'>")
        parts += [f"<li>{e(x['error'])}</li>" for x in errors]
        parts.append("</ul></section>")
    parts.append("</body></html>\n")
    text = "".join(parts)
    path = out_dir / "index.html"
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    return path


def write_report(out_dir: Path, records: list[dict], errors: list[dict], meta: dict) -> dict[str, Path]:
    """All three report files; returns their paths by kind."""
    title = f"Blur Studio cull: {len(records)} photos"
    return {"html": write_html(out_dir, records, errors, title), "csv": write_csv(out_dir, records, errors),
            "json": write_json(out_dir, records, errors, meta)}


def report_meta(model_name: str, model_sha: str, config: CullConfig, max_side: int) -> dict:
    from . import __version__

    return {"generator": f"blurstudio {__version__}", "model": model_name, "model_sha256": model_sha,
            "max_side": max_side, "thresholds": config.to_dict()}
