"""``ai-music batch``: many videos, each its own project, resumable after an interruption.

An agency has a folder of a hundred demos and one instruction ("upbeat corporate music,
fade out over 3 seconds"), or a list with an instruction per file (CSV or JSONL). Each
video goes through the same job as ``ai-music run`` — upload, request, export, download —
in its own session, one after the other on one engine.

What makes it a batch tool rather than a loop: a manifest in the output folder
(``.ai-music-batch.json``) records every finished file with its input's size and mtime, so
running the same command again after Ctrl-C, a crash or a failed file redoes only what is
not done — and redoes a done file whose input has changed since. With ``--plan`` each video
also gets its fit picture beside it (``runtime.batch_plans``); a file finished earlier without
one is not made again for it.
"""
from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from runtime import batch_plans
from runtime.document.model import Skill

MANIFEST = ".ai-music-batch.json"


class BatchInputError(ValueError):
    """The folder or list cannot be read as a batch: one line for the user."""


@dataclass(frozen=True)
class Item:
    """One video of the batch and what to do with it."""

    video: Path
    instruction: str

    @property
    def key(self) -> str:
        """Identity in the manifest: the same file with another instruction is another item."""
        return f"{self.video}\n{self.instruction}"

    def fingerprint(self) -> dict[str, int]:
        stat = self.video.stat()
        return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def plan(source: str | os.PathLike[str], instruction: str | None, skill: Skill) -> list[Item]:
    """The items of a batch: the videos in a folder (sorted by name), or the rows of a CSV/JSONL list.

    A list names a file per row (column ``file``, relative to the list's folder) and may give
    its own ``instruction``; rows without one get ``instruction``.
    """
    path = Path(os.path.expanduser(os.fspath(source)))
    if path.is_dir():
        videos = sorted(p for p in path.iterdir()
                        if p.is_file() and not p.name.startswith(".")
                        and skill.formats.kind_of(p.suffix) == "video")
        if not videos:
            raise BatchInputError(f"{source}: no videos in this folder (accepted: {', '.join(skill.formats.video)})")
        return [Item(v.resolve(), _instruction(instruction)) for v in videos]
    if not path.is_file():
        raise BatchInputError(f"{source}: no such folder or list file")
    rows = list(_rows(path))
    if not rows:
        raise BatchInputError(f"{source}: the list has no rows")
    items = []
    for number, row in enumerate(rows, start=1):
        name = str(row.get("file") or row.get("video") or row.get("path") or "").strip()
        if not name:
            raise BatchInputError(f"{source}: row {number} names no file (column 'file')")
        video = (path.parent / os.path.expanduser(name)).resolve()
        if not video.is_file():
            raise BatchInputError(f"{source}: row {number}: {name}: no such file")
        text = str(row.get("instruction") or row.get("prompt") or "").strip() or instruction
        items.append(Item(video, _instruction(text)))
    return items


def _instruction(instruction: str | None) -> str:
    from runtime.job import DEFAULT_REQUEST

    return (instruction or "").strip() or DEFAULT_REQUEST


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise BatchInputError(f"{path.name}: line {number} is not JSON") from None
            if not isinstance(row, dict):
                raise BatchInputError(f"{path.name}: line {number} is not a JSON object")
            yield row
        return
    if path.suffix.lower() != ".csv":
        raise BatchInputError(f"{path.name}: give a folder of videos, or a .csv or .jsonl list")
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not {"file", "video", "path"} & {f.strip().lower() for f in reader.fieldnames}:
        raise BatchInputError(f"{path.name}: the CSV needs a header row with a 'file' column "
                              "(and optionally 'instruction')")
    for row in reader:
        yield {str(k).strip().lower(): v for k, v in row.items() if k is not None}


class Manifest:
    """What is done, kept beside the outputs; written atomically after every file (0600)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / MANIFEST
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        items = data.get("items") if isinstance(data, dict) else None
        self.items: dict[str, dict[str, Any]] = items if isinstance(items, dict) else {}

    def done(self, item: Item) -> Path | None:
        """The output of ``item`` if an earlier run finished it and neither file changed since."""
        entry = self.entry(item)
        if entry.get("status") != "done":
            return None
        output = Path(str(entry.get("output", "")))
        try:
            unchanged = entry.get("input") == item.fingerprint()
        except OSError:
            return None
        return output if unchanged and output.is_file() else None

    def entry(self, item: Item) -> dict[str, Any]:
        """What the manifest says of ``item`` (empty if nothing)."""
        entry = self.items.get(item.key)
        return entry if isinstance(entry, dict) else {}

    def earlier(self, item: Item) -> "Earlier":
        """What an earlier run wrote for ``item``, read before this run records anything for it."""
        entry = self.entry(item)
        output = entry.get("output")
        return Earlier(Path(output) if isinstance(output, str) and Path(output).is_file() else None,
                       batch_plans.ours(entry))

    def record(self, item: Item, status: str, **facts: Any) -> None:
        entry = {"video": str(item.video), "status": status, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        try:
            entry["input"] = item.fingerprint()
        except OSError:
            pass
        kept = {k: v for k, v in self.entry(item).items() if k in ("output", "picture")}
        merged = {**kept, **entry, **facts}
        if merged.get("picture") is None:  # facts say the batch holds no picture for it (any more)
            merged.pop("picture", None)
        self.items[item.key] = merged
        self.save()

    def save(self) -> None:
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": 1, "items": self.items}, fh, ensure_ascii=False, indent=1)
        os.replace(tmp, self.path)


@dataclass
class Summary:
    total: int
    done: int = 0
    earlier: int = 0
    unpictured: int = 0  # with --plan: done (now or earlier) without a fit picture
    released: Item | None = None  # with --plan: a video done earlier whose picture can't be drawn any more
    failed: list[tuple[Item, str]] | None = None
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.failed else 0


@dataclass(frozen=True)
class Earlier:
    """What an earlier run wrote for an item being redone."""

    output: Path | None   # replaced in place (redone because its input changed)
    picture: Path | None  # the fit picture this batch wrote for it: the one it may replace


#: (item, output folder, what an earlier run wrote for it) → (output, error, more facts for the manifest)
Job = Callable[[Item, Path, Earlier], tuple[Path | None, str | None, dict[str, Any]]]


def run_batch(items: list[Item], outdir: Path, job: Job, say: Callable[[str], None], plans: bool = False) -> Summary:
    """Run ``job`` for every item not done yet (see :data:`Job`); report as it goes. With ``plans`` a done
    item's line says when it has no fit picture (it is not made again for one: ``batch_plans``)."""
    outdir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(outdir)
    summary = Summary(total=len(items), failed=[])
    width = len(str(len(items)))
    took: list[float] = []
    earlier = [manifest.done(item) for item in items]  # read once: the job only adds entries
    left = earlier.count(None)
    try:
        for number, (item, done_before) in enumerate(zip(items, earlier), start=1):
            tag = f"[{number:>{width}}/{len(items)}] {item.video.name}"
            if done_before is not None:
                summary.earlier += 1
                why_not = batch_plans.missing(manifest.entry(item), done_before) if plans else None
                summary.unpictured += why_not is not None
                if why_not and why_not.released and summary.released is None:
                    summary.released = item
                say(f"{tag}: done earlier → {done_before.name}{why_not.line if why_not else ''}")
                continue
            eta = _eta(took, left)
            left -= 1
            say(f"{tag}: working{eta}…")
            previous = manifest.earlier(item)
            manifest.record(item, "working")
            started = time.monotonic()
            output, error, facts = job(item, outdir, previous)
            seconds = time.monotonic() - started
            if output is not None and error is None:
                took.append(seconds)  # only finished work says how long the rest takes
                summary.done += 1
                manifest.record(item, "done", output=str(output), seconds=round(seconds, 1), **facts)
                picture, why_not = batch_plans.said(facts)
                summary.unpictured += plans and "plan" not in facts
                say(f"{tag}: ✓ {output.name}{picture} ({seconds:.1f} s){why_not}")
            else:
                summary.failed.append((item, error or "no file came back"))
                manifest.record(item, "failed", error=error)
                say(f"{tag}: ✗ {error}")
    except KeyboardInterrupt:
        summary.interrupted = True
    say(_closing(summary, outdir))
    return summary


def _closing(summary: Summary, outdir: Path) -> str:
    finished = summary.done + summary.earlier
    parts = [f"{finished} of {summary.total} done"]
    if summary.earlier:
        parts.append(f"{summary.earlier} from an earlier run")
    if summary.unpictured:
        parts.append(f"{summary.unpictured} without a fit picture")
    if summary.failed:
        parts.append(f"{len(summary.failed)} failed")
    text = f"Batch: {', '.join(parts)}; the videos are in {outdir}."
    if summary.interrupted or summary.failed:
        text += " Run the same command again to finish the rest (finished files are not redone)."
    if summary.released is not None:
        text += " " + batch_plans.make_again(summary.released.video, summary.released.instruction)
    return text


def _eta(took: list[float], left: int) -> str:
    """The progress line's "(about N left)", from the videos finished so far: nothing before one finished
    (a failure, often instant, would say "about 0 s left") or while the estimate is under a second."""
    if not took:
        return ""
    seconds = sum(took) / len(took) * left
    return f" (about {_duration(seconds)} left)" if seconds >= 1 else ""


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
