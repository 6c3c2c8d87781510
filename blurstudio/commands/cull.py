"""`blurstudio cull`: a blur verdict for every photo of a shoot, as a report (and XMP sidecars)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .common import CommandFailed, add_detector_options, batch_photos, load_detector, output_folder, progress_bar

EXAMPLES = """\
Verdicts: sharp, shallow focus (a sharp subject, the rest defocused: intended), subject motion,
missed focus, camera shake; each with a 0-100 keeper score. Writes REPORT/index.html (contact
sheet), REPORT/cull.csv, REPORT/cull.json, the overlays and thumbnails; REPORT/.cache lets a re-run
or an interrupted run (Ctrl+C) resume without detecting again. Raw files are read through their
embedded preview (needs rawpy: pip install 'blurstudio[raw]').

examples:
  blurstudio cull shoot/ -o shoot_report/
  blurstudio cull card1/ card2/ -r -o report/ --xmp        sidecars for Lightroom, darktable, digiKam
  blurstudio cull "shoot/*.NEF" -o report/ --workers 4
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "cull",
        help="a blur verdict per photo for a whole shoot: report, CSV, JSON, XMP sidecars",
        description="Tell sharp photos and intended shallow focus from missed focus, camera shake and subject motion.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="SHOOT", help="photo files, folders or glob patterns")
    p.add_argument("-o", "--outdir", type=Path, required=True, help="report folder (created if needed)")
    p.add_argument("-r", "--recursive", action="store_true", help="include photos in subfolders of folder inputs")
    add_detector_options(p, max_side=True)
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), metavar="N",
                   help="processes decoding photos and drawing overlays (default: min(4, CPUs); 0: none)")
    p.add_argument("--xmp", action="store_true", help="write or merge XMP sidecars (rating, colour label, keywords)")
    p.add_argument("--stats", action="store_true", help="print timing figures at the end")
    p.set_defaults(func=run)


def _err(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"blurstudio cull: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    out: Path = args.outdir
    if args.workers < 0:
        print("blurstudio cull: --workers must be 0 or more", file=sys.stderr)
        return 2
    if out.exists() and not out.is_dir():  # a usage error comes before "nothing to do"
        raise CommandFailed(f"{out}: exists and is not a folder", 2)
    photos, failures = batch_photos(args, skip_folder=out)  # the report's own pictures are not photos
    output_folder(out, "report folder")

    # Imported only now: torch takes seconds to load, and a mistake above is reported at once.
    from ..cull import CullConfig, decide
    from ..cull_batch import Settings, cull_photos
    from ..errors import ImageError
    from ..report import photo_record, report_meta, write_report
    from ..sidecar import write_sidecar

    detector = load_detector(args)
    model_sha = str(detector.card.get("sha256") or detector.model_name)
    settings = Settings(model_sha, detector.max_side, detector.scales, detector.flip)
    config = CullConfig()
    records, errors = [], [{"input": m.split(":")[0], "error": m} for m in failures]
    t_net = 0.0

    def predict(small):
        nonlocal t_net
        t = time.perf_counter()
        probs = detector.predict_small(small)
        t_net += time.perf_counter() - t
        return probs

    t0 = time.perf_counter()
    n_cached = 0
    bar = progress_bar(len(photos), "culling")
    try:
        for res in cull_photos(photos, predict, settings, out, workers=args.workers):
            bar.update(1)
            n_cached += res.cached
            if res.error:
                _err(res.error)
                errors.append({"input": str(res.path), "error": res.error})
                continue
            verdict = decide(res.measures, config)
            sidecar = ""
            if args.xmp:
                try:
                    path, notes = write_sidecar(res.path, verdict.verdict, verdict.rating, verdict.score)
                    sidecar = str(path)
                    if notes:
                        _err(f"{path}: " + "; ".join(notes))
                except ImageError as e:
                    _err(str(e))
                    errors.append({"input": str(res.path), "error": str(e)})
            records.append(photo_record(res.path, verdict, res.full_size, res.photo_id, sidecar))
    except KeyboardInterrupt:
        bar.close()
        print(f"blurstudio cull: stopped after {len(records) + len(errors) - len(failures)} of {len(photos)} "
              "photos; run the same command again to resume (finished photos are cached)", file=sys.stderr)
        raise
    bar.close()
    elapsed = time.perf_counter() - t0

    written = write_report(out, records, errors, report_meta(detector.model_name, model_sha, config, detector.max_side))
    counts = {}
    for r in records:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    print(f"{len(records)} photos: {summary or 'none'}" + (f"; {len(errors)} not read" if errors else ""))
    print(f"report: {written['html']}")
    if args.stats:
        detected = len(records) - n_cached
        print(f"stats: {len(photos)} photos in {elapsed:.2f} s ({len(photos) / max(elapsed, 1e-9):.2f} photos/s), "
              f"{n_cached} from the cache, network {t_net:.2f} s for {detected} "
              f"({detected / max(t_net, 1e-9):.2f} photos/s)", file=sys.stderr)
    return 1 if errors else 0
