"""``ai-music``: the command line (DESIGN.md "Commands" is the contract).

Each subcommand imports what it needs when it runs, so ``ai-music route`` never pays
for httpx, numpy or the engine (it must answer in well under 150 ms). Bad input — a
missing file, a document that is not a skill — is one line on stderr and exit code 2;
a traceback is a bug.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Callable, Sequence

EXIT_USAGE = 2


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--skill", metavar="PATH", default=argparse.SUPPRESS,
                        help="SKILL.md to interpret (default: the bundled one)")
    parser.add_argument("--backend", choices=("local", "cloud"), default=argparse.SUPPRESS,
                        help="local = embedded engine; cloud = NEMO_API_URL or the skill's base URL")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ai-music",
        description="Run the skill's job for real: music for your video, rendered to a 1080p MP4.",
    )
    _common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    route = sub.add_parser("route", help="which action the skill's routing table picks, and why")
    _common(route)
    route.add_argument("text", help="what the user says")
    route.add_argument("--attach", action="append", default=[], metavar="FILE", help="an attached file")
    route.add_argument("--json", action="store_true", help="print JSON")
    route.set_defaults(handler=_route)

    skill = sub.add_parser("skill", help="inspect the SKILL.md")
    skill_sub = skill.add_subparsers(dest="skill_command", metavar="SUBCOMMAND")
    skill_sub.required = True
    show = skill_sub.add_parser("show", help="what the interpreter read from SKILL.md")
    _common(show)
    show.add_argument("path", nargs="?", help="SKILL.md (default: --skill or the bundled one)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_skill_show)
    return parser


def _skill_path(args: argparse.Namespace) -> str | None:
    return getattr(args, "path", None) or getattr(args, "skill", None) or os.environ.get("AI_MUSIC_SKILL")


def _load(args: argparse.Namespace):  # noqa: ANN202 - Skill, imported lazily
    from runtime.skillfile import load_skill

    return load_skill(_skill_path(args))


def _route(args: argparse.Namespace) -> int:
    from runtime.router import Router

    skill = _load(args)
    for path in args.attach:
        if not os.path.exists(path):
            raise UserError(f"--attach {path}: no such file")
    route = Router(skill).route(args.text, args.attach)
    if args.json:
        print(json.dumps(route.to_json(), ensure_ascii=False))
        return 0
    for number, step in enumerate(route.steps, start=1):
        prefix = f"{number}. " if len(route.steps) > 1 else ""
        section = f" (§{step.section})" if step.section else ""
        print(f"{prefix}{step.action.value}{section} — {step.reason}")
        if step.attachments:
            print(f"   files: {', '.join(step.attachments)}")
        if step.text and step.action.value in ("chat", "upload") and step.text != args.text:
            print(f"   message: {step.text}")
    return 0


def _skill_show(args: argparse.Namespace) -> int:
    skill = _load(args)
    if args.json:
        print(json.dumps(skill.to_json(), ensure_ascii=False, indent=2))
        return 0
    from runtime.show import render

    print(render(skill))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    from runtime.errors import SkillError

    try:
        return handler(args)
    except (SkillError, UserError) as exc:
        print(f"ai-music: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ai-music: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
