"""``ai-music``: the command line (docs/architecture.md "Commands" is the contract).

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
from pathlib import Path
from typing import Callable, Sequence

from runtime.job import DEFAULT_REQUEST as DEFAULT_PROMPT

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

    run = sub.add_parser("run", help="the whole job: upload → chat → export → download")
    _common(run)
    run.add_argument("video", nargs="?", help="the video to put music under")
    run.add_argument("prompt", nargs="?", default=DEFAULT_PROMPT, help=f"what you want (default: {DEFAULT_PROMPT!r})")
    run.add_argument("-o", "--output", metavar="OUT.mp4",
                     help="where to write the result: a file, or a folder (ending in /, created if missing); "
                          "default: VIDEO-music.mp4 in the current directory, numbered if taken")
    run.add_argument("--overwrite", action="store_true", help="replace the file -o names if it exists")
    run.add_argument("--sample", action="store_true", help="generate a 60 s 1080p product-demo clip and use it")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--plan", metavar="PLAN.png",
                     help="also save a picture of how the music fits: thumbnails and cuts, sections, beats and hits, "
                          "ducking under speech, loudness (local engine)")
    run.set_defaults(handler=_run)

    batch = sub.add_parser("batch", help="many videos, each its own project; resumable (run it again to finish)")
    _common(batch)
    batch.add_argument("source", help="a folder of videos, or a .csv/.jsonl list (columns: file, instruction)")
    batch.add_argument("instruction", nargs="?", default=None,
                       help=f"what you want for every video (a list's own column wins; default: {DEFAULT_PROMPT!r})")
    batch.add_argument("-o", "--output", metavar="OUTDIR", required=True, help="the folder the videos are written to")
    batch.add_argument("--plan", action="store_true",
                       help="also save each video's fit picture beside it, as <output name>-plan.png (numbered if "
                            "a file of yours has that name; local engine); a video finished earlier without one stays as it is (its project is gone)")
    batch.set_defaults(handler=_batch)

    say = sub.add_parser("say", help="one turn of the persisted session (for agents)")
    _common(say)
    say.add_argument("text", help="what the user says")
    say.add_argument("--attach", action="append", default=[], metavar="FILE", help="a file (or URL) to send")
    say.add_argument("--json", action="store_true", help="print one JSON object (schema: docs/agents.md)")
    say.add_argument("-o", "--output", metavar="OUT.mp4",
                     help="where an export writes the video: a file or a folder/ (default: the input's name "
                          "+ -music.mp4 in the current directory)")
    say.add_argument("--overwrite", action="store_true", help="replace the file -o names if it exists")
    say.add_argument("--new", action="store_true", help="start a new project session first")
    say.set_defaults(handler=_say)

    chat = sub.add_parser("chat", help="the REPL")
    _common(chat)
    chat.add_argument("--output-dir", metavar="DIR", help="where exports are written (default: current directory)")
    chat.set_defaults(handler=_chat)

    serve = sub.add_parser("serve", help="the local engine as a server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    serve.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                       help="also answer requests addressed to NAME (a name this machine is reached by); "
                            "repeatable. Others are refused: a web page can't rebind its name to the engine")
    serve.add_argument("--data", metavar="DIR", help="data directory (default: $XDG_DATA_HOME/ai-music/engine)")
    serve.add_argument("--credits", type=int, metavar="N",
                       help="meter edits: each new user gets N credits (for an engine shared as a service; "
                            "default: not metered)")
    serve.add_argument("--ray", metavar="ADDRESS",
                       help="run renders, analyses and composing as tasks on the Ray cluster at ADDRESS (default: $RAY_ADDRESS when "
                            "ai-music[ray] is installed; otherwise in this process). The cluster must share the "
                            "data directory, or use --object-store")
    serve.add_argument("--object-store", metavar="URL",
                       help="also keep media in this S3-compatible store (s3://bucket/prefix; endpoint and "
                            "credentials from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID…), so Ray workers on machines "
                            "without the data directory can do the jobs; needs pip install 'ai-music[s3]'")
    serve.add_argument("--database", metavar="URL",
                       help="keep users, sessions and renders in this PostgreSQL database (postgresql://…), "
                            "shared by several `serve` processes using the same --data dir; needs "
                            "pip install 'ai-music[postgres]' (default: files in the data dir)")
    serve.add_argument("--test-api", action="store_true",
                       help="enable the /_engine/* fault switches (for tests, the harness and benchmarks)")
    serve.set_defaults(handler=_serve)

    workspace = sub.add_parser("open", help="the web workspace in your browser (starts or reuses a local engine)")
    _common(workspace)
    workspace.add_argument("video", nargs="?", help="a video (or audio) to upload into a new project first")
    workspace.add_argument("--port", type=int, default=8765,
                           help="the local engine's port (default 8765, where `ai-music serve` listens)")
    workspace.add_argument("--data", metavar="DIR", help="data directory of an engine started here")
    workspace.add_argument("--no-browser", action="store_true", help="print the workspace link instead of opening it")
    workspace.set_defaults(handler=_open)

    test = sub.add_parser("test", help="run scenario files (the skill test harness; docs/harness.md)")
    test.add_argument("paths", nargs="*", metavar="PATH", help="scenario files or folders (*.scenario.yaml)")
    test.add_argument("--junit", metavar="FILE", help="also write JUnit XML")
    test.add_argument("--workers", type=int, default=0, help="parallel processes (default: number of cores)")
    test.add_argument("--record", metavar="OUT.scenario.yaml",
                      help="record a conversation (turns read from stdin) as a scenario skeleton")
    test.add_argument("--url", help="with --record: the backend to record against (default: the local engine)")
    test.add_argument("--skill", metavar="PATH", default=argparse.SUPPRESS, help="SKILL.md for --record")
    test.set_defaults(handler=_test)

    clean = sub.add_parser("clean", help="free the disk the embedded engine no longer needs")
    clean.add_argument("--dry-run", action="store_true", help="only show what would be freed")
    clean.add_argument("--data", metavar="DIR", help="the engine's data directory (default: the embedded engine's)")
    clean.set_defaults(handler=_clean)

    link = sub.add_parser("install", help="put the ai-music command on your PATH (a link in ~/.local/bin)")
    link.add_argument("--bin-dir", metavar="DIR", help="where to put the link (default: $XDG_BIN_HOME or ~/.local/bin)")
    link.add_argument("--force", action="store_true", help="replace an ai-music there that is not this one")
    link.set_defaults(handler=_install)

    mcp = sub.add_parser("mcp", help="MCP server on stdio (Claude Desktop, Claude Code, Cursor…)")
    _common(mcp)
    mcp.add_argument("--print-config", choices=("json", "claude"), metavar="json|claude",
                     help="print the host configuration (absolute command; this shell's XDG_* state folders) "
                          "instead of serving: json for Claude Desktop/Cursor, claude for 'claude mcp add'")
    mcp.set_defaults(handler=_mcp)

    skill = sub.add_parser("skill", help="inspect the SKILL.md")
    skill_sub = skill.add_subparsers(dest="skill_command", metavar="SUBCOMMAND")
    skill_sub.required = True
    show = skill_sub.add_parser("show", help="what the interpreter read from SKILL.md")
    _common(show)
    show.add_argument("path", nargs="?", help="SKILL.md (default: --skill or the bundled one)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_skill_show)
    install = skill_sub.add_parser("install", help="copy the skill to where an agent looks for skills")
    _common(install)
    install.add_argument("--target", default="openclaw",
                         choices=("openclaw", "openclaw-workspace", "claude", "cursor", "codex", "agents"))
    install.add_argument("--dir", help="base directory instead of your home (the workspace for openclaw-workspace)")
    install.add_argument("--force", action="store_true", help="replace a copy you changed")
    install.set_defaults(handler=_skill_install)
    lint = skill_sub.add_parser("lint", help="what in a SKILL.md breaks which consumer, with line numbers")
    lint.add_argument("path", nargs="+", help="SKILL.md files or folders")
    lint.set_defaults(handler=_skill_lint)
    return parser


def _skill_path(args: argparse.Namespace) -> str | None:
    return getattr(args, "path", None) or getattr(args, "skill", None) or os.environ.get("AI_MUSIC_SKILL")


def _load(args: argparse.Namespace):  # noqa: ANN202 - Skill, imported lazily
    from runtime.document.frontmatter import PREAMBLE_SKIPPED
    from runtime.document import load_skill

    skill = load_skill(_skill_path(args))
    if args.command != "skill":  # `skill show` and `skill lint` list every warning themselves
        for warning in skill.warnings:
            if PREAMBLE_SKIPPED in warning:  # the document was read from further down than it should be
                print(f"ai-music: warning: {skill.path}: {warning}", file=sys.stderr)
    return skill


def _route(args: argparse.Namespace) -> int:
    from runtime.document.router import Router

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


def _check_attachments(items: list[str]) -> None:
    for item in items:
        if "://" not in item and not os.path.exists(os.path.expanduser(item)):
            raise UserError(f"--attach {item}: no such file")


MAX_MESSAGE = 100_000


def _say(args: argparse.Namespace) -> int:
    if args.json:
        return _say_json(args)
    from runtime.backend import connect
    from runtime.conversation import Conversation
    from runtime.terminal import TerminalOutput

    skill = _load(args)
    _check_attachments(args.attach)
    if len(args.text) > MAX_MESSAGE:
        raise UserError("the message is longer than 100,000 characters; shorten it")
    out = TerminalOutput()
    with connect(skill, getattr(args, "backend", None), notice=out.notice) as conn:
        if args.new:
            conn.new_session()
        convo = Conversation(conn, out, export_dest=args.output, overwrite=args.overwrite)
        report = convo.turn(args.text, args.attach)
    out.close()
    return report.exit_code


def _say_json(args: argparse.Namespace) -> int:
    """One turn as one JSON object (docs/say.schema.json) — whatever happens, even a failure."""

    from runtime import failures
    from runtime.document.errors import SkillError
    from runtime.terminal import CollectingOutput
    from skill import errors

    out = CollectingOutput()
    data: dict = {"ok": False, "route": None, "reply": "", "files": [], "links": [], "credits": None, "chat": None,
                  "timeline": [], "errors": [], "session_id": None, "notices": []}

    def fail(kind: str, message: str, code: int | None = None) -> None:
        data["errors"].append({"code": failures.code_of(kind, code), "type": kind, "message": message})
        data["reply"] = "\n".join(filter(None, [data["reply"], message]))

    try:
        from runtime.backend import connect
        from runtime.conversation import Conversation

        skill = _load(args)
        for item in args.attach:
            if "://" not in item and not os.path.exists(os.path.expanduser(item)):
                raise errors.BadInput(f"--attach {item}: no such file; check the path (relative paths are "
                                      f"taken from {os.getcwd()})")
        if len(args.text) > MAX_MESSAGE:
            fail("MessageTooLong", "the message is longer than 100,000 characters; shorten it")
        else:
            with connect(skill, getattr(args, "backend", None), notice=out.notice) as conn:
                if args.new:
                    conn.new_session()
                convo = Conversation(conn, out, export_dest=args.output, overwrite=args.overwrite)
                report = convo.turn(args.text, args.attach)
                data.update(report.to_json())
                data["timeline"], credits = _after_turn(conn, report)
                data["credits"] = data["credits"] or credits
                data["session_id"] = conn.session.session_id if conn.session else None
    except errors.NemoError as exc:
        kind = failures.describe(exc)
        fail(kind["type"], getattr(exc, "user_message", str(exc)), kind["code"])
    except SkillError as exc:
        fail("SkillError", str(exc))
    except ValueError as exc:  # a bad setting in the environment (NEMO_POLL_INTERVAL=abc)
        fail("BadSetting", f"{exc}; fix or unset it")
    except KeyboardInterrupt:
        fail("Interrupted", "interrupted; run the same command again to continue (an export resumes)")
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        fail("LocalWriteError", f"{exc.strerror or exc}{where}: free space or fix permissions, then run it again")
    except RuntimeError as exc:  # a tool we run failed (ffmpeg missing, engine did not start)
        fail("EngineError", str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug must still answer in JSON, without a traceback
        fail("InternalError", f"internal error ({type(exc).__name__}); please report it with the command you ran")
    out.close()
    data["ok"] = not data["errors"]
    data["notices"] = out.notices
    print(json.dumps(data, ensure_ascii=False))
    return failures.exit_code([e["type"] for e in data["errors"]])


def _after_turn(conn, report):  # noqa: ANN001, ANN202 - Connection, TurnReport (imported lazily)
    """The timeline now and, after an edit, the balance — read once the turn is over."""
    from skill import errors
    from skill.actions.credits import credits
    from skill.actions.state import fetch_state
    from skill.draft import timeline

    labels = conn.skill.conversation.track_labels
    draft = report.chat.draft if report.chat is not None else None
    balance = None
    if conn.session is None:
        return [], None
    try:
        if draft is None:
            draft = fetch_state(conn).get("draft")
        if report.chat is not None and report.credits is None:
            found = credits(conn).credits
            balance = {"available": found.available, "frozen": found.frozen, "total": found.total,
                       "unlimited": found.unlimited}
    except errors.NemoError:
        pass  # the turn's own answer stands; these extras are best effort
    return timeline(draft, labels), balance


def _chat(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runtime.backend import connect
    from runtime.conversation import Conversation
    from runtime.repl import run_repl
    from runtime.terminal import TerminalOutput
    from skill.store import ClientStore

    skill = _load(args)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    out = TerminalOutput()
    with connect(skill, getattr(args, "backend", None), notice=out.notice) as conn:
        convo = Conversation(conn, out, output_dir=Path(args.output_dir) if args.output_dir else None)
        if interactive:
            convo.connect()
        code = run_repl(convo, out, interactive=interactive, history_file=str(ClientStore().history_file()))
    out.close()
    return code


def _sample_video() -> str:
    from media.fixtures import VideoSpec, make_video

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "ai-music", "samples", "product-demo-60s-1080p.mp4")
    if not os.path.exists(path):
        print("ai-music: generating a 60 s 1080p sample product demo (first run only)…", file=sys.stderr)
        make_video(path, VideoSpec(seconds=60, width=1920, height=1080, fps=30, audio="voice"))
    return path


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runtime.backend import connect
    from runtime.conversation import Conversation
    from runtime.terminal import CollectingOutput, TerminalOutput
    from skill import destination
    from skill.errors import BadInput

    skill = _load(args)
    video = args.video
    if args.sample:
        if video and args.prompt == DEFAULT_PROMPT:
            args.prompt = video  # "ai-music run --sample 'make it cinematic'"
        video = _sample_video()
    if not video:
        raise UserError("run needs a video: ai-music run VIDEO [\"PROMPT\"] (or --sample)")
    if not os.path.exists(os.path.expanduser(video)) and "://" not in video:
        raise UserError(f"{video}: no such file")
    try:  # where the result goes is settled before anything is uploaded or rendered
        target = destination.resolve(args.output, folder=Path.cwd(), input_name=video,
                                     inputs=[video] if "://" not in video else [], overwrite=args.overwrite)
    except BadInput as exc:
        raise UserError(exc.user_message) from None
    plan = _plan_path(args.plan, video, target.path, args.overwrite) if args.plan else None
    out = CollectingOutput() if args.json else TerminalOutput()
    wanted = destination.default_name(video, "mp4")
    if target.numbered and target.path.name != wanted:
        out.notice(f"{wanted} already exists; writing {target.path.name}")
    from runtime.job import MADE_WITHOUT, fit_picture_offered, save_fit_picture

    plan_error = None
    with connect(skill, getattr(args, "backend", None), notice=out.notice) as conn:
        if plan is not None and not fit_picture_offered(conn):  # said before the job runs (and spends credits)
            plan, plan_error = None, f"--plan: {MADE_WITHOUT}"
            _warn(plan_error)
        before = conn.store.session(conn.backend.key)  # the project `say` continues
        convo = Conversation(conn, out, auto_export=True, export_dest=target)
        convo.new_project(args.prompt)
        report = convo.turn(args.prompt, [video])
        if plan is not None and report.ok and report.files:
            why_not = save_fit_picture(conn, plan, replace=args.overwrite)
            if why_not:
                _warn(why_not)
                plan, plan_error = None, why_not
        if report.ok and report.files:
            # written: the embedded engine drops this project's files, and `say` goes back to its own
            conn.release(before)
    out.close()
    if args.json:
        data = report.to_json()
        if plan and report.files:  # a file this run wrote, listed with the MP4 as `say --json` lists its picture
            data["files"] = [*data["files"], str(plan)]
            data["plan"] = str(plan)
        if plan_error:
            data["plan_error"] = plan_error
        print(json.dumps(data, ensure_ascii=False))
    elif report.files:
        print(f"MP4: {report.files[0]}")
        if plan is not None:
            print(f"Plan: {plan}")
    return report.exit_code


def _warn(line: str) -> None:
    """One line on stderr: what was asked for but not done (the job itself went on)."""
    print(f"ai-music: {line}", file=sys.stderr)


def _plan_path(given: str, video: str, output: "os.PathLike[str]", overwrite: bool) -> Path:
    """Where ``--plan`` writes, checked before anything is uploaded: a PNG in a folder that exists,
    never the input or the video's own output, never over a file unless ``--overwrite``."""
    path = Path(os.path.expanduser(given)).resolve()
    if path.suffix.lower() != ".png":
        raise UserError(f"--plan {given}: the picture is a PNG; name it ….png")
    if not path.parent.is_dir():
        raise UserError(f"--plan {given}: no such folder {path.parent}")
    if path.is_dir():
        raise UserError(f"--plan {given}: that is a folder; name the picture's file")
    if path in (Path(os.path.expanduser(video)).resolve(), Path(output).resolve()):
        raise UserError(f"--plan {given}: that is the video's own file")
    if path.exists() and not overwrite:
        raise UserError(f"--plan {given}: already exists (add --overwrite to replace it)")
    return path


def _batch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runtime import batch, batch_plans
    from runtime.backend import connect
    from runtime.conversation import Conversation
    from runtime.job import NO_PICTURE, fit_picture_offered, fit_picture_to
    from runtime.terminal import CollectingOutput
    from skill import destination
    from skill.errors import BadInput

    skill = _load(args)
    try:
        items = batch.plan(args.source, args.instruction, skill)
    except batch.BatchInputError as exc:
        raise UserError(str(exc)) from None
    outdir = Path(os.path.expanduser(args.output)).absolute()
    if outdir.exists() and not outdir.is_dir():
        raise UserError(f"{args.output} is a file; -o takes the folder the videos go to")
    with connect(skill, getattr(args, "backend", None), notice=lambda text: None) as conn:
        if args.plan and not fit_picture_offered(conn):  # refused before any folder is made or credit spent
            raise UserError(f"--plan: {NO_PICTURE}; run the batch without --plan")
        print(f"Batch: {len(items)} video(s) → {outdir}", flush=True)
        before = conn.store.session(conn.backend.key)

        def job(item: batch.Item, folder: Path, earlier: batch.Earlier) -> tuple[Path | None, str | None, dict]:
            previous = earlier.output
            try:  # a file redone because its input changed replaces what the earlier run wrote
                target = destination.Destination(previous, numbered=False, overwrite=True) if previous else \
                    destination.resolve(f"{folder}{os.sep}", folder=folder, input_name=str(item.video),
                                        inputs=[item.video])
            except BadInput as exc:
                return None, exc.user_message, {}
            convo = Conversation(conn, CollectingOutput(), auto_export=True, export_dest=target)
            convo.new_project(item.instruction)
            report = convo.turn(item.instruction, [str(item.video)])
            if report.ok and report.files:
                output = Path(report.files[0])  # the picture is named after where the video really went
                fetch = (lambda picture, mine: fit_picture_to(conn, picture, mine)) if args.plan else None
                facts = batch_plans.after_video(fetch, output, earlier.picture)
                conn.release(before)
                return output, None, facts
            return None, (report.errors[0].get("message") if report.errors else "the export produced no file"), {}

        summary = batch.run_batch(items, outdir, job, lambda text: print(text, flush=True), plans=args.plan)
    return summary.exit_code


def _clean(args: argparse.Namespace) -> int:
    from runtime.backend import clean_local

    report = clean_local(args.data, dry_run=args.dry_run)
    print(report.text)
    return 0


def _ray_address(flag: str | None) -> str | None:
    """``--ray`` as given; else ``$RAY_ADDRESS``, but only where Ray is installed: Ray's own nodes
    and shells set that variable for Ray's tools, and a plain ``serve`` there without the extra
    must run as it always did rather than refuse to start."""
    if flag:
        return flag
    address = os.environ.get("RAY_ADDRESS") or None
    if address is None:
        return None
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        print(f"ai-music: RAY_ADDRESS is set but ai-music[ray] is not installed: renders run in this process "
              f"(pip install 'ai-music[ray]' to run them on {address})", file=sys.stderr)
        return None
    return address


def _serve(args: argparse.Namespace) -> int:
    from runtime.backend import ServeRefused, serve_engine

    try:
        serve_engine(args.host, args.port, data=args.data, test_api=args.test_api, credits=args.credits,
                     allow_hosts=tuple(args.allow_host), database=args.database, ray=_ray_address(args.ray),
                     object_store=args.object_store)
    except ServeRefused as exc:
        raise UserError(str(exc)) from None
    return 0


def _open(args: argparse.Namespace) -> int:
    from runtime.backend import ServeRefused, open_workspace

    if args.video and not os.path.isfile(os.path.expanduser(args.video)):
        raise UserError(f"{args.video}: no such file")
    try:
        video = os.path.expanduser(args.video) if args.video else None
        open_workspace(_load(args), video, port=args.port, browser=not args.no_browser, data=args.data,
                       show=lambda line: print(line, flush=True))
    except ServeRefused as exc:
        raise UserError(str(exc)) from None
    return 0


def _mcp(args: argparse.Namespace) -> int:
    from runtime.mcp_server import host_config, serve

    if args.print_config:
        print(host_config(args.print_config))
        return 0

    _load(args).require_runnable()
    return serve(_skill_path(args), getattr(args, "backend", None))


def _test(args: argparse.Namespace) -> int:
    if args.record:
        from runtime.harness.record import record

        if args.url:
            os.environ["NEMO_API_URL"] = args.url
        return record(args.record, sys.stdin, args.url, getattr(args, "skill", None))
    if not args.paths:
        raise UserError("test needs scenario files or folders (or --record OUT.scenario.yaml)")
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing

    from runtime.harness.fixtures import default_cache
    from runtime.harness.report import line, summary, transcript, write_junit
    from media.cores import usable_cpus
    from runtime.harness.runner import run_path
    from runtime.harness.scenario import ScenarioError, discover

    try:
        files = discover(args.paths)
    except ScenarioError as exc:
        raise UserError(str(exc)) from None
    if not files:
        raise UserError("no *.scenario.yaml files found")
    workers = args.workers or min(len(files), usable_cpus())
    cache = str(default_cache())
    results = []
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for result in pool.map(run_path, files, [cache] * len(files)):
                print(line(result), flush=True)
                results.append(result)
    else:
        for path in files:
            results.append(run_path(path, cache))
            print(line(results[-1]), flush=True)
    failed = [r for r in results if not r.passed]
    for result in failed:
        print(transcript(result))
    print(summary(results))
    if args.junit:
        write_junit(results, args.junit)
    return 0 if not failed else 1


def _skill_install(args: argparse.Namespace) -> int:
    from runtime.attribution import platform
    from runtime.install import InstallError, install, resolve_command
    from runtime.document import load_skill

    skill = _load(args)
    found = resolve_command()
    try:
        done = install(skill, args.target, args.dir, args.force, command=found.command)
    except InstallError as exc:
        raise UserError(str(exc)) from None
    installed = load_skill(done.path / "SKILL.md", cache=False)
    verb = "updated" if done.updated else "installed"
    print(f"{verb} {skill.name} {skill.frontmatter.version or ''} for {args.target}: {done.path}")
    print(f"files: {', '.join(done.files)}; X-Skill-Platform there: {platform(installed)}")
    if found.on_path:
        print(f"ai-music on PATH: {found.on_path}")
    else:
        print(f"ai-music is not on PATH; the installed SKILL.md runs {done.command}")
        print(f"put it on PATH with '{done.command} install' (OpenClaw shows the skill only then)")
    return 0


def _install(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runtime.install import InstallError, link_command

    try:
        linked = link_command(Path(args.bin_dir) if args.bin_dir else None, args.force)
    except (InstallError, OSError) as exc:
        raise UserError(str(exc)) from None
    verb = "linked" if linked.changed else "already linked"
    print(f"{verb}: {linked.link} -> {linked.target}")
    if linked.on_path:
        print("ai-music is on your PATH now; next: ai-music skill install --target openclaw|claude|cursor|codex")
    else:
        folder = linked.link.parent
        print(f"{folder} is not on your PATH; add it (then open a new shell):")
        print(f"  echo 'export PATH=\"{folder}:$PATH\"' >> ~/.profile")
    return 0


def _skill_lint(args: argparse.Namespace) -> int:
    from runtime.lint import lint_report

    worst = 0
    for path in args.path:
        text, code = lint_report(path)
        print(text)
        worst = max(worst, code)
    return worst


def _skill_show(args: argparse.Namespace) -> int:
    skill = _load(args)
    if args.json:
        from runtime.attribution import install_location, platform

        data = skill.to_json()
        data["platform"] = platform(skill)
        data["install_location"] = install_location(skill.path)
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    from runtime.show import render

    print(render(skill))
    return 0


def _skip_httpx_cli() -> None:
    """httpx imports its own command line (``httpx._main``: rich, pygments, click; ~0.3 s) whenever
    those are installed, and rich is one of ours. No command here runs httpx's CLI: made to fail
    its import, httpx falls back to a stub ``main`` (its ``except ImportError``)."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]


def main(argv: Sequence[str] | None = None) -> int:
    _skip_httpx_cli()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    if handler in (_run, _batch, _say, _chat, _test):  # turns waited for in this thread (servers keep theirs)
        from runtime import interrupts

        interrupts.install()
    from runtime.document.errors import SkillError
    from skill.errors import NemoError

    try:
        return handler(args)
    except NemoError as exc:  # the backend failed on a path that does not report it itself
        from runtime import failures

        print(f"ai-music: {failures.unreachable_hint(exc)}", file=sys.stderr)
        return failures.exit_code([failures.describe(exc)["type"]])
    except (SkillError, UserError) as exc:
        print(f"ai-music: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # bad settings in the environment (NEMO_POLL_INTERVAL=abc)
        print(f"ai-music: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        path = getattr(exc, "path", None)  # skill.errors.ExportInterrupted: a render is waiting
        if path:
            print(f"ai-music: interrupted — the render is kept. To pick it up: ai-music say export "
                  f"(it writes {path})", file=sys.stderr)
        else:
            print("ai-music: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # disk full, permission denied, a vanished file: say which, no traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"ai-music: {exc.strerror or exc}{where} — free space or fix permissions, then run it again",
              file=sys.stderr)
        return 1
    except RuntimeError as exc:  # a tool we run failed (ffmpeg missing, engine did not start)
        print(f"ai-music: {exc}", file=sys.stderr)
        return 1


def entry() -> None:
    """The ``ai-music`` command (pyproject's script): :func:`main`, then out without the interpreter's
    teardown (``runtime.quick_exit``). ``main`` itself returns, for callers in a process that goes on."""
    code = main()
    from runtime.quick_exit import exit_now

    exit_now(code)


if __name__ == "__main__":
    entry()
