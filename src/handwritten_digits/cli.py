"""The ``digits`` command line.

Each verb lives in ``handwritten_digits.commands.<verb>`` and exposes ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Command modules import only the
standard library at module level, so ``digits predict`` starts fast: heavy libraries
(torch, scikit-learn, matplotlib) are imported inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from handwritten_digits import __version__
from handwritten_digits.errors import DigitsError

VERBS = ["predict", "data", "train", "evaluate", "info", "ensemble", "calibrate", "quantize", "serve", "tune", "feedback"]


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every option's default in ``--help``, unless its help text already says it."""

    def _get_help_string(self, action):
        if "default" in (action.help or "").lower():
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digits",
        description="Read handwritten digits and numbers; train, evaluate and serve the models.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        try:
            module = importlib.import_module(f"handwritten_digits.commands.{verb}")
        except ModuleNotFoundError as exc:
            if exc.name == f"handwritten_digits.commands.{verb}":
                continue  # verb not built yet
            raise
        p = sub.add_parser(verb, help=module.HELP, description=module.HELP, formatter_class=_Formatter)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def command_line(args, verb: str) -> list[str]:
    """The command as typed (``digits`` left out), starting with ``verb``: for model cards and relaunching."""
    argv = list(getattr(args, "_argv", sys.argv[1:]))
    return argv if argv[:1] == [verb] else [verb, *argv]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args._argv = list(sys.argv[1:] if argv is None else argv)  # the exact command, for model cards and relaunching
    try:
        return int(args._run(args) or 0)
    except DigitsError as exc:
        print(f"digits: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("digits: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
