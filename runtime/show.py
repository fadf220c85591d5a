"""``ai-music skill show``: what the interpreter read, laid out for a person.

A skill author debugging a document wants to see, section by section, what the runtime
will obey — and where it came from (line numbers), what was repaired, and why a
document is refused — without reading JSON.
"""
from __future__ import annotations

from runtime.document.model import Skill


def _seconds(value: float | None) -> str:
    if value is None:
        return "not stated"
    if value >= 60 and value % 60 == 0:
        return f"{int(value // 60)} min"
    return f"{value:g} s"


def render(skill: Skill) -> str:
    fm = skill.frontmatter
    out: list[str] = []
    title = f"{fm.emoji + ' ' if fm.emoji else ''}{fm.name} {fm.version or '(no version)'}"
    out.append(title)
    if fm.display_name:
        out.append(f"  {fm.display_name}")
    out.append(f"  file: {skill.path}")
    out.append(f"  status: {'runnable' if skill.runnable else 'NOT runnable — ' + skill.problems[0]}")
    for problem in skill.problems[1:]:
        out.append(f"          also: {problem}")
    for warning in skill.warnings:
        out.append(f"  warning: {warning}")

    out.append("\nRouting table")
    if not skill.routes:
        out.append("  (none)")
    for rule in skill.routes:
        said = "everything else" if rule.fallback else " / ".join(f'"{k}"' for k in rule.keywords)
        if rule.on_file:
            said += " / user sends file"
        skip = "skips SSE" if rule.skip_sse else "via SSE"
        section = f" §{rule.section}" if rule.section else ""
        out.append(f"  line {rule.line}: {said} → {rule.action.value}{section} ({skip})")

    out.append("\nGUI translation")
    if not skill.gui:
        out.append("  (none)")
    for g in skill.gui:
        out.append(f"  line {g.line}: {' / '.join(repr(p) for p in g.phrases)} → {g.action.value} ({g.instruction})")

    sse = skill.sse
    out.append("\nSSE")
    out.append(f"  notice: {sse.notice or 'not stated'} every {_seconds(sse.notice_period_s)}")
    out.append(f"  heartbeats-only timeout: {_seconds(sse.heartbeat_timeout_s)}; "
               f"stream limit: {_seconds(sse.max_stream_s)}")
    out.append(f"  silent replies: {'state diff fallback' if sse.silent_fallback else 'not described'}"
               f"{f' (~{sse.silent_share:.0%} of edits)' if sse.silent_share else ''}; "
               f"never re-send: {'yes' if sse.never_resend else 'not stated'}")
    if sse.ignore_trailing:
        out.append(f"  ignore trailing: {', '.join(repr(t) for t in sse.ignore_trailing)}")
    rec = skill.recovery
    out.append(f"  disconnect recovery: wait {_seconds(rec.first_wait_s)}, then {_seconds(rec.next_wait_s)}, "
               f"give up after {rec.max_unchanged or 'an unstated number of'} unchanged queries")

    out.append("\nError codes")
    for e in skill.errors:
        extra = f", wait {_seconds(e.wait_s)}" if e.wait_s else ""
        out.append(f"  {e.code:>5} {e.meaning} → {e.kind.value}{extra}")

    out.append("\nUploads")
    f = skill.formats
    out.append(f"  video: {', '.join(f.video) or '-'} | image: {', '.join(f.image) or '-'} | "
               f"audio: {', '.join(f.audio) or '-'}")
    size = f"{skill.max_upload_bytes / 1024 / 1024:g} MB" if skill.max_upload_bytes else "not stated"
    out.append(f"  max size: {size}")

    out.append("\nExport")
    ex = skill.export
    out.append(f"  poll every {_seconds(ex.poll_interval_s)}, at most {ex.max_polls or 'unstated'} polls; "
               f"free: {'yes' if ex.free else 'not stated'}; retry with new id on failure: "
               f"{'yes' if ex.retry_on_failure else 'not stated'}")
    if ex.progress:
        out.append(f"  progress: {' → '.join(ex.progress)}")

    out.append("\nBackend")
    out.append(f"  API: {skill.api_url or 'not stated'}  web: {skill.web_url or 'not stated'}")
    att = skill.attribution
    platform = att.platform or "detected: " + ", ".join(
        [f"env {att.platform_env}" if att.platform_env else "env SKILL_SOURCE"]
        + [f"{p} → {v}" for p, v in att.path_rules] + [f"git {h} → {v}" for h, v in att.git_rules]
        + [f"else {att.fallback}"])
    out.append(f"  X-Skill-Source: {att.source or '(not sent)'}  X-Skill-Version: {att.version or '(not sent)'}")
    out.append(f"  X-Skill-Platform: {platform}")
    from runtime.attribution import install_location, platform as detect

    where = install_location(skill.path)
    out.append(f"  platform now: {detect(skill)}" + (f" (installed for {where})" if where else ""))
    names = ", ".join(sorted({e.name for e in skill.endpoints}))
    out.append(f"  endpoints: {names or 'none'} (user in paths: {skill.user_in_path})")
    for var in skill.env:
        out.append(f"  env {var.name}: {'required' if var.required else 'optional'}"
                   f"{', default ' + var.default if var.default else ''}")
    conv = skill.conversation
    if conv.greeting:
        out.append(f"\nGreeting: {conv.greeting}")
    if conv.examples:
        out.append("Try saying: " + " · ".join(conv.examples))
    return "\n".join(out)
