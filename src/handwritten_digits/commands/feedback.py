"""``digits feedback``: look at and export the corrections users made on the page."""

from __future__ import annotations

HELP = "Corrections from the web page: `stats`, or `export DIR` as a folder-per-class dataset for fine-tuning."


def add_arguments(p) -> None:
    from argparse import SUPPRESS  # the help shows the real default (from Settings), not None

    from handwritten_digits.server.settings import default_feedback_db

    p.add_argument("--feedback-db", default=SUPPRESS,
                   help=f"SQLite file written by `digits serve` (env DIGITS_FEEDBACK_DB; default {default_feedback_db()})")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    stats = sub.add_parser("stats", help="how many corrections per digit, and the most common mistakes")
    stats.add_argument("--json", action="store_true", help="print the statistics as JSON")
    export = sub.add_parser("export", help="write DIR/0..9/*.png for `digits train --data folder:DIR --init MODEL`")
    export.add_argument("dir", help="output folder (created)")


def run(args) -> int:
    import json
    import os

    from handwritten_digits.server.feedback import FeedbackStore
    from handwritten_digits.server.settings import default_feedback_db

    path = getattr(args, "feedback_db", None) or os.environ.get("DIGITS_FEEDBACK_DB") or default_feedback_db()
    store = FeedbackStore(path)
    if args.action == "export":
        count = store.export(args.dir)
        print(f"wrote {count} corrected digit{'s' if count != 1 else ''} to {args.dir}/0..9/ "
              f"(fine-tune: digits train --data folder:{args.dir} --init MODEL)")
        return 0
    stats = store.stats()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"{stats['total']} corrections in {stats['database']}" + (f" ({stats['first']} to {stats['last']})" if stats["total"] else ""))
    print("per digit: " + "  ".join(f"{k}:{v}" for k, v in stats["per_label"].items()))
    for c in stats["confusions"]:
        print(f"  read {c['predicted']} but was {c['label']}: {c['count']}")
    return 0
