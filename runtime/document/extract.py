"""Extractors: find each fact in a parsed SKILL.md, whatever shape the author chose.

Every function takes the parsed :class:`~runtime.document.markdown.Document` and returns one part
of the :class:`~runtime.document.model.Skill`. The shapes handled are those seen across the
skill family (``shared/skills-corpus``): routing as a 3-column table with ✅/❌ or
Yes/No, or a 2-column "User says (examples) | What happens" table; GUI rules as a table or
as bullets; error codes as a table (with or without an Action column, in English or
Chinese) or as bullets; numbers stated in sentences ("every 30s, max 10 polls"). Where a
document is silent the field is ``None`` and the caller's documented default applies.
"""
from __future__ import annotations

import mimetypes
import re
from typing import Iterable

from runtime.document.frontmatter import RawFrontmatter
from protocol.endpoints import recognise
from runtime.document.markdown import Document, Table
from runtime.document.model import (
    Action, Attribution, ConversationText, Endpoint, EnvVar, ErrorKind, ErrorRule, ExportRules,
    Formats, Frontmatter, GuiAction, GuiRule, Links, Recovery, RouteRule, Skill, SseRules,
)

_QUOTED = re.compile(r"[\"“”]([^\"“”]+)[\"“”]")
_SECTION_REF = re.compile(r"§\s*(\d+(?:\.\d+)*)")
_DURATION = r"(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|min|mins|minutes?|h|hours?)\b"

_ACTION_WORDS: tuple[tuple[Action, re.Pattern[str]], ...] = (
    (Action.CHAT, re.compile(r"\bsse\b|\bmessages?\b", re.I)),  # "Delivering Messages Through SSE"
    (Action.EXPORT, re.compile(r"export|render|deliver|导出", re.I)),
    (Action.CREDITS, re.compile(r"credit|balance|积分|余额", re.I)),
    (Action.UPLOAD, re.compile(r"upload|上传", re.I)),
    (Action.STATE, re.compile(r"\bstate\b|status|track summary|状态", re.I)),
    (Action.CHAT, re.compile(r"\bsse\b|message|chat|\bedit|generat|对话", re.I)),
)

_GUI_WORDS: tuple[tuple[GuiAction, re.Pattern[str]], ...] = (
    (GuiAction.SUMMARY, re.compile(r"summary", re.I)),
    (GuiAction.EXPORT, re.compile(r"export|render|导出", re.I)),
    (GuiAction.CREDITS, re.compile(r"credit|account|billing|积分", re.I)),
    (GuiAction.STATE, re.compile(r"\bstate\b|状态", re.I)),
    (GuiAction.EDIT, re.compile(r"\bsse\b|\bedit\b", re.I)),
    (GuiAction.EXECUTE, re.compile(r"execute", re.I)),
    (GuiAction.QUERY, re.compile(r"query|endpoint|api", re.I)),
)

_ERROR_WORDS: tuple[tuple[ErrorKind, re.Pattern[str]], ...] = (
    (ErrorKind.OK, re.compile(r"^\s*(?:ok|success|continue)|^成功", re.I)),
    (ErrorKind.CLIENT_ID, re.compile(r"client-?id", re.I)),
    (ErrorKind.PLAN, re.compile(r"plan|subscription|tier|export restricted", re.I)),
    (ErrorKind.NO_CREDITS, re.compile(r"credit|registration|top ?up|积分", re.I)),
    (ErrorKind.RATE_LIMIT, re.compile(r"\brate\b|retry(?:ing)? in|\bwait\b|频率", re.I)),
    (ErrorKind.REAUTH, re.compile(r"re-?auth|re-?acquire|anonymous-token|token|未授权", re.I)),
    (ErrorKind.NEW_SESSION, re.compile(r"session|会话", re.I)),
    (ErrorKind.BAD_FORMAT, re.compile(r"format|file type|unsupported|类型", re.I)),
    (ErrorKind.TOO_LARGE, re.compile(r"too large|compress|trim|过大", re.I)),
)

_PLACEHOLDERS = (
    (re.compile(r"<(?:sid|session_id|session-id)>|\{session_id\}|\$SID|\$SESSION_ID"), "{session_id}"),
    (re.compile(r"<(?:uid|user_id|user-id)>|\{user_id\}|\$USER_ID"), "{user_id}"),
    (re.compile(r"<(?:id|render_id|render_task_id|task_id)>|\{(?:id|render_id)\}"), "{render_id}"),
)

_PATH = re.compile(r"(?<![\w.])(/(?:api|run_sse|v\d+)(?:/[A-Za-z0-9_.<>{}$:-]+)*)")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d+)?(?=/)|\$\{NEMO_API_URL[^}]*\}|\$\{?API\}?(?=/)")
_REQUIRED_ENDPOINTS = ("session", "chat")


# --------------------------------------------------------------------------- helpers

def quoted(text: str, *, trim: bool = False) -> list[str]:
    """Strings inside straight or curly double quotes; ``trim`` drops a trailing "..."

    (keywords are written "点击..." meaning "点击 and whatever follows").
    """
    found = [q.strip() for q in _QUOTED.findall(text)]
    if trim:
        found = [q.rstrip(".…").strip() for q in found]
    return [q for q in found if q]


def seconds(amount: str, unit: str) -> float:
    unit = unit.lower()
    value = float(amount)
    if unit.startswith("ms"):
        return value / 1000
    if unit.startswith("min"):
        return value * 60
    if unit.startswith("h"):
        return value * 3600
    return value


def _strip_md(text: str) -> str:
    return re.sub(r"[*`]", "", text).strip()


def _expand_refs(text: str, doc: Document) -> str:
    """Replace "§3.5" by that section's title so its words can classify the row."""
    def title(match: re.Match[str]) -> str:
        section = doc.section(match.group(1))
        return f" {section.title} " if section else match.group(0)
    return _SECTION_REF.sub(title, text)


def _classify(text: str, table: Iterable[tuple[object, re.Pattern[str]]]):  # noqa: ANN202
    for kind, pattern in table:
        if pattern.search(text):
            return kind
    return None


def _tables(doc: Document, header: re.Pattern[str]) -> list[Table]:
    return [t for t in doc.tables if t.header and header.search(_strip_md(t.header[0]))]


def _first(pattern: str, text: str, flags: int = re.I) -> re.Match[str] | None:
    return re.search(pattern, text, flags)


# --------------------------------------------------------------------------- frontmatter

def frontmatter(fm: RawFrontmatter, doc: Document) -> Frontmatter:
    data = fm.data
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    claw = meta.get("openclaw") if isinstance(meta.get("openclaw"), dict) else meta
    requires = claw.get("requires") if isinstance(claw.get("requires"), dict) else {}

    def strings(value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list):
            return tuple(str(v) for v in value)
        return ()

    version = fm.text("version") or fm.meta_text("version")
    if version is None:  # some versions state it only in the body: "**Version**: 4.5.1."
        match = re.search(r"\*\*Version\*\*:\s*v?(\d+(?:\.\d+)+)", doc.all_text)
        version = match.group(1) if match else None
    description = fm.text("description")
    return Frontmatter(
        name=str(data["name"]).strip(),
        version=version,
        display_name=fm.text("displayName") or fm.meta_text("displayName"),
        description=" ".join(description.split()) if description else None,
        homepage=fm.text("homepage"),
        repository=fm.text("repository"),
        emoji=claw.get("emoji") if isinstance(claw.get("emoji"), str) else None,
        requires_env=strings(requires.get("env")),
        requires_bins=strings(requires.get("bins")),
        config_paths=strings(requires.get("configPaths")),
        primary_env=claw.get("primaryEnv") if isinstance(claw.get("primaryEnv"), str) else None,
        variant=claw.get("variant") if isinstance(claw.get("variant"), str) else None,
        api_domain=fm.text("apiDomain"),
        single_line_metadata=fm.single_line_metadata,
        keys=tuple(data.keys()),
    )


# --------------------------------------------------------------------------- routing

_ROUTE_HEADER = re.compile(r"user says|用户(?:说|输入)", re.I)
_SKIP_YES = re.compile(r"✅|✓|\byes\b|\btrue\b|是", re.I)
_FILE_RULE = re.compile(r"(?:user\s+)?sends?\s+(?:a\s+)?file|drops?\s+a\s+file|发送文件", re.I)
_FALLBACK = re.compile(r"everything else|anything else|otherwise|其他", re.I)


def routes(doc: Document) -> tuple[RouteRule, ...]:
    """The routing table: keywords per action, the file rule, the fallback row."""
    tables = _tables(doc, _ROUTE_HEADER)
    if not tables:
        return ()
    table = tables[0]
    header = [_strip_md(h).lower() for h in table.header]
    skip_col = next((i for i, h in enumerate(header) if "skip" in h), None)
    action_col = 1
    rules: list[RouteRule] = []
    for row, line in zip(table.rows, table.row_lines):
        if len(row) <= action_col:
            continue
        says, target = row[0], row[action_col]
        refs = _SECTION_REF.findall(target)
        action = None
        if refs:
            section = doc.section(refs[0])
            if section:
                action = _classify(section.title, _ACTION_WORDS)
        if action is None:
            action = _classify(_expand_refs(target, doc), _ACTION_WORDS) or Action.CHAT
        fallback = bool(_FALLBACK.search(says))
        if skip_col is not None and skip_col < len(row):
            skip = bool(_SKIP_YES.search(row[skip_col]))
        else:
            skip = action is not Action.CHAT
        rules.append(RouteRule(
            action=action,
            keywords=() if fallback else tuple(quoted(says, trim=True)),
            on_file=bool(_FILE_RULE.search(says)),
            fallback=fallback,
            skip_sse=skip,
            section=refs[0] if refs else None,
            label=_strip_md(target).lstrip("→ ").strip(),
            line=line,
        ))
    if not any(r.fallback for r in rules):
        # "Every edit request goes through the SSE workflow." stated beside the table
        for text in doc.texts:
            if text.section == table.section and re.search(r"\b(?:every|all|everything)\b[^.]*\bSSE\b", text.text, re.I):
                rules.append(RouteRule(action=Action.CHAT, keywords=(), on_file=False, fallback=True,
                                       skip_sse=False, section=None, label=_strip_md(text.text).split(".")[0],
                                       line=text.line))
                break
    return tuple(rules)


# --------------------------------------------------------------------------- GUI rules

_GUI_HEADER = re.compile(r"backend says|后端", re.I)
_GUI_SECTION = re.compile(r"\bGUI\b|translat", re.I)
_BULLET_RULE = re.compile(r"^(?P<says>.*?[\"”])\s*(?:—|–|->|→|:|-)\s*(?P<do>.+)$")


def gui_rules(doc: Document) -> tuple[GuiRule, ...]:
    """GUI translation rules from a "Backend says | You do" table or from bullets."""
    rules: list[GuiRule] = []
    for table in _tables(doc, _GUI_HEADER):
        for row, line in zip(table.rows, table.row_lines):
            if len(row) < 2:
                continue
            rules.append(_gui_rule(row[0], row[1], line, doc))
    if rules:
        return tuple(rules)
    for block in doc.lists:
        if not (block.section and _GUI_SECTION.search(block.section.path)):
            continue
        for item, line in zip(block.items, block.item_lines):
            match = _BULLET_RULE.match(item.strip())
            if match and quoted(match.group("says")):
                rules.append(_gui_rule(match.group("says"), match.group("do"), line, doc))
    return tuple(rules)


def _gui_rule(says: str, do: str, line: int, doc: Document) -> GuiRule:
    phrases = tuple(quoted(says, trim=True)) or (_strip_md(says),)
    # The "You do" column decides; the phrase itself only when the column is generic.
    action = _classify(_expand_refs(do, doc), _GUI_WORDS) or _classify(says, _GUI_WORDS) or GuiAction.EXECUTE
    return GuiRule(phrases=phrases, action=action, instruction=_strip_md(do), line=line)


# --------------------------------------------------------------------------- SSE rules

_EVENT_HEADER = re.compile(r"^event", re.I)


def sse_rules(doc: Document) -> SseRules:
    text = doc.all_text
    notice = period = None
    for table in _tables(doc, _EVENT_HEADER):
        for row in table.rows:
            if re.search(r"heartbeat", row[0], re.I):
                cell = " ".join(row[1:])
                found = quoted(cell)
                notice = next((q for q in found if "⏳" in q), found[-1] if found else None)
                every = _first(r"every\s+" + _DURATION, cell)
                period = seconds(*every.groups()) if every else None
    if notice is None:  # inline form: "heartbeat → "⏳ Editing...""
        inline = _first(r"heartbeat[^\n]*?(?:→|->)\s*[\"“]([^\"”]+)[\"”]", text)
        notice = inline.group(1).strip() if inline else None
        if period is None:
            every = _first(r"heartbeat[^\n]*?every\s+" + _DURATION, text)
            period = seconds(*every.groups()) if every else None
    timeout = _first(_DURATION + r"\s+heartbeats?[- ]only", text)
    max_time = _first(r"--max-time\s+(\d+)", text)
    max_stream = float(max_time.group(1)) if max_time else None
    if max_stream is None:
        up_to = _first(r"SSE[^\n]*?Up to\s+" + _DURATION, text)
        max_stream = seconds(*up_to.groups()) if up_to else None
    share = _first(r"(\d+)\s*%\s+of\s+(?:edit|editing)", text)
    long_notice = _first(r"Before generation/editing, tell user:\s*[\"“]([^\"”]+)[\"”]", text)
    return SseRules(
        notice=notice,
        notice_period_s=period,
        heartbeat_timeout_s=seconds(*timeout.groups()) if timeout else None,
        max_stream_s=max_stream,
        ignore_trailing=tuple(m.strip() for m in re.findall(r"Ignore trailing [\"“]([^\"”]+)[\"”]", text, re.I)),
        silent_share=int(share.group(1)) / 100 if share else None,
        silent_fallback=bool(_first(r"no text|silent (?:edit|response)|without returning any text|return no text", text)),
        never_resend=bool(_first(r"never re-?send|don't re-?send|do not re-?send", text)),
        long_task_notice=long_notice.group(1).strip() if long_notice else None,
    )


_RECOVERY_SECTION = re.compile(r"disconnect|recover", re.I)


def recovery(doc: Document) -> Recovery:
    blocks = doc.blocks_under(_RECOVERY_SECTION)
    parts: list[str] = []
    for block in blocks:
        parts.extend(block.items if hasattr(block, "items") else [getattr(block, "text", "")])
    text = "\n".join(parts)
    waits = [seconds(*m.groups()) for m in re.finditer(r"wait\s+" + _DURATION, text, re.I)]
    unchanged = _first(r"after\s+(\d+)\s+(?:consecutive\s+)?unchanged", text)
    return Recovery(
        first_wait_s=waits[0] if waits else None,
        next_wait_s=waits[1] if len(waits) > 1 else None,
        max_unchanged=int(unchanged.group(1)) if unchanged else None,
        never_resend=bool(_first(r"don't re-?send|do not re-?send|never re-?send|not re-?send", text)),
        line=blocks[0].line if blocks else None,
    )


# --------------------------------------------------------------------------- errors

_ERROR_HEADER = re.compile(r"^(?:code|error code|错误码)$", re.I)
_ERROR_BULLET = re.compile(r"^`?(\d{1,4})`?\s*(?:—|–|-|:)\s*(.+)$")


def errors(doc: Document) -> tuple[ErrorRule, ...]:
    found: list[ErrorRule] = []
    for table in _tables(doc, _ERROR_HEADER):
        for row, line in zip(table.rows, table.row_lines):
            code = re.sub(r"\D", "", row[0])
            if not code:
                continue
            meaning = _strip_md(row[1]) if len(row) > 1 else ""
            action = row[2] if len(row) > 2 else row[1] if len(row) > 1 else ""
            found.append(_error_rule(int(code), meaning, action, line))
    if not found:
        for block in doc.lists:
            for item, line in zip(block.items, block.item_lines):
                match = _ERROR_BULLET.match(item.strip())
                if match:
                    meaning, _, action = match.group(2).partition(";")
                    found.append(_error_rule(int(match.group(1)), meaning.strip(), action.strip() or meaning, line))
    seen: dict[int, ErrorRule] = {}
    for rule in found:
        seen.setdefault(rule.code, rule)
    return tuple(seen.values())


def _error_rule(code: int, meaning: str, action: str, line: int) -> ErrorRule:
    plain = _strip_md(action)
    kind = _classify(plain, _ERROR_WORDS) or _classify(meaning, _ERROR_WORDS) or ErrorKind.UNKNOWN
    if kind is ErrorKind.OK and code != 0:
        kind = _classify(meaning, _ERROR_WORDS[1:]) or ErrorKind.UNKNOWN
    wait = _first(r"(?:wait|retry in|retrying in)\s+" + _DURATION, plain)
    retries = 1 if _first(r"\bonce\b|retry", plain) else None
    messages = [q for q in quoted(action) if " " in q]
    return ErrorRule(
        code=code, meaning=meaning, action=plain, kind=kind,
        wait_s=seconds(*wait.groups()) if wait else None,
        retries=retries if kind in (ErrorKind.RATE_LIMIT, ErrorKind.CLIENT_ID) else None,
        message=messages[-1] if messages else None,
        line=line,
    )


# --------------------------------------------------------------------------- formats, limits

def media_kind(ext: str) -> str | None:
    guess = mimetypes.guess_type(f"x.{ext}")[0]
    if guess is None:
        return None
    kind = guess.split("/", 1)[0]
    return kind if kind in ("video", "image", "audio") else None


def formats(doc: Document, description: str | None) -> Formats:
    """Accepted upload formats: every comma list of ≥3 media extensions the document gives."""
    by_kind: dict[str, list[str]] = {"video": [], "image": [], "audio": []}
    lines: list[int] = []
    candidates: list[tuple[str, int]] = [(t.text, t.line) for t in doc.texts]
    candidates += [(item, line) for lst in doc.lists for item, line in zip(lst.items, lst.item_lines)]
    if description:
        candidates.append((description, 0))
    for text, line in candidates:
        for chunk in re.split(r"[.\n;。]\s", text):
            tokens = re.findall(r"(?<![\w/.-])\.?([A-Za-z0-9]{2,4})(?![\w/-])", chunk)
            exts = [t.lower() for t in tokens if media_kind(t.lower())]
            if len(exts) < 3 or not re.search(r",", chunk):
                continue
            if re.search(r"stick to|smoothest|export(?:s|ed)? (?:to|in)|exports? as", chunk, re.I):
                continue
            for ext in exts:
                kind = media_kind(ext)
                if kind and ext not in by_kind[kind]:
                    by_kind[kind].append(ext)
            if line and line not in lines:
                lines.append(line)
    return Formats(video=tuple(by_kind["video"]), image=tuple(by_kind["image"]),
                   audio=tuple(by_kind["audio"]), lines=tuple(lines))


def max_upload_bytes(doc: Document) -> int | None:
    match = _first(r"(?:max(?:imum)?\s+(?:file\s+|upload\s+)?size|size\s+limit|limit)\s*(?:is|of|:)?\s*"
                   r"(\d+(?:\.\d+)?)\s*(KB|MB|GB)", doc.all_text)
    if not match:
        return None
    scale = {"KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[match.group(2).upper()]
    return int(float(match.group(1)) * scale)


# --------------------------------------------------------------------------- URLs, env

_ENV_HEADER = re.compile(r"^(?:variable|env|环境变量|变量)", re.I)
_ENV_DEFAULT = re.compile(r"\$\{(NEMO_[A-Z_]+):-([^}\s]+)\}")


def env_table(doc: Document) -> tuple[EnvVar, ...]:
    out: list[EnvVar] = []
    for table in _tables(doc, _ENV_HEADER):
        for row, line in zip(table.rows, table.row_lines):
            name = _strip_md(row[0])
            if not re.fullmatch(r"[A-Z][A-Z0-9_]+", name):
                continue
            required = len(row) > 1 and bool(re.search(r"yes|是|required|true", row[1], re.I))
            note = _strip_md(row[2]) if len(row) > 2 else ""
            url = re.search(r"https?://[^\s`)]+", row[2] if len(row) > 2 else "")
            out.append(EnvVar(name=name, required=required, default=url.group(0).rstrip(".,") if url else None,
                              note=note, line=line))
    return tuple(out)


def urls(doc: Document, fm: Frontmatter, env: tuple[EnvVar, ...]) -> tuple[str | None, str | None]:
    """(API base URL, web URL) the document names, most explicit statement first."""
    text = doc.all_text
    defaults = {m.group(1): m.group(2).rstrip("/") for m in _ENV_DEFAULT.finditer(text)}
    table = {e.name: e.default for e in env if e.default}
    api = defaults.get("NEMO_API_URL") or table.get("NEMO_API_URL")
    if api is None:
        stated = _first(r"(?:calls go to|base url[^`]*)\s*`?(https?://[a-z0-9.-]+)", text)
        api = stated.group(1) if stated else None
    if api is None and fm.api_domain:
        api = fm.api_domain
    if api is None:
        seen = re.search(r"(https?://[a-z0-9.-]+)/(?:api|run_sse)", text)
        api = seen.group(1) if seen else None
    web = defaults.get("NEMO_WEB_URL") or table.get("NEMO_WEB_URL")
    return (api.rstrip("/") if api else None, web.rstrip("/") if web else None)


# --------------------------------------------------------------------------- endpoints

def _normalise(path: str) -> str:
    path = path.rstrip(".,;:`'\")")
    for pattern, replacement in _PLACEHOLDERS:
        path = pattern.sub(replacement, path)
    return path


def endpoints(doc: Document) -> tuple[Endpoint, ...]:
    """Every API path the document uses, named where it is one the protocol defines."""
    seen: dict[tuple[str, str], Endpoint] = {}
    blocks = [(t.text, t.line) for t in doc.texts]
    blocks += [(item, line) for lst in doc.lists for item, line in zip(lst.items, lst.item_lines)]
    blocks += [(" | ".join(row), line) for tbl in doc.tables for row, line in zip(tbl.rows, tbl.row_lines)]
    for text, first_line in blocks:
        for offset, line_text in enumerate(text.split("\n")):
            line_text = _ORIGIN.sub(" ", line_text)
            for match in _PATH.finditer(line_text):
                path = _normalise(match.group(1))
                if path in ("/api", "/v1") or path.endswith("/"):
                    continue
                before = line_text[: match.start()]
                method_match = re.findall(r"\b(GET|POST|PUT|DELETE|PATCH)\b", before)
                spec = recognise(path)
                name, default_method = (spec.name, spec.method) if spec else ("other", None)
                method = method_match[-1] if method_match else default_method or ("POST" if "-X POST" in before else "GET")
                key = (name if name != "other" else path, method)
                if key not in seen:
                    seen[key] = Endpoint(name=name, method=method, path=path, line=first_line + offset)
    return tuple(seen.values())


def user_in_path(found: tuple[Endpoint, ...]) -> str:
    """Whether paths carry ``me`` (backend resolves the user from the token) or the id."""
    for ep in found:
        if ep.name in ("upload", "state"):
            return "{user_id}" if "{user_id}" in ep.path else "me"
    return "me"


# --------------------------------------------------------------------------- attribution

def attribution(doc: Document, fm: Frontmatter) -> Attribution:
    text = doc.all_text
    values: dict[str, str | None] = {}
    for header in ("Source", "Version", "Platform"):
        match = re.search(rf"X-Skill-{header}`?\s*:\s*([^\n|]+)", text)
        values[header] = match.group(1).strip() if match else None

    def resolve(value: str | None, frontmatter_value: str | None) -> str | None:
        """``$SKILL_NAME`` / "from frontmatter `version`" → the frontmatter; a literal stays."""
        if value is None:
            return None
        if value.startswith("$") or re.search(r"frontmatter", value, re.I):
            return frontmatter_value
        literal = re.match(r"`?([\w.-]+)`?", value)
        return literal.group(1) if literal else None

    platform = values["Platform"]
    if platform and (platform.startswith("$") or re.search(r"detect", platform, re.I)):
        platform = None
    path_rules = tuple(
        (m.group(1), m.group(2))
        for m in re.finditer(r"`?(~/\.[\w.-]+/(?:[\w.-]+/)?)`?\s*(?:→|->|—|–|-)\s*`([\w-]+)`", text)
    )
    git_rules = tuple(
        (m.group(1), m.group(2))
        for m in re.finditer(r"`([a-z0-9-]+\.(?:com|org|net|io))`\s*(?:→|->)\s*`([\w-]+)`", text)
    )
    fallback = _first(r"(?:fallback|else)[:\s]*`(\w+)`", text)
    required = _first(r"(?:omitting|missing)[^.\n]*?(?:trigger|cause|fail)[^.\n]*?(\d{3})", text)
    return Attribution(
        source=resolve(values["Source"], fm.name),
        version=resolve(values["Version"], fm.version),
        platform=resolve(platform, None) if platform else None,
        platform_env="SKILL_SOURCE" if re.search(r"\bSKILL_SOURCE\b", text) else None,
        path_rules=path_rules,
        git_rules=git_rules,
        fallback=fallback.group(1) if fallback else "unknown",
        required_on=f"export fails with {required.group(1)}" if required else "",
    )


# --------------------------------------------------------------------------- export, links

def export_rules(doc: Document) -> ExportRules:
    text = doc.all_text
    poll = _first(r"poll[^\n]*?every\s+" + _DURATION, text)
    polls = _first(r"max\s+(\d+)\s+polls", text)
    progress: list[str] = []
    line = _first(r"Progress(?: messages?)?:\s*([^\n]+)", text)
    if line:
        progress = [q for q in quoted(line.group(1))]
    if not progress:
        progress = [q for q in quoted(text) if q.startswith(("⏳ Rendering", "✅ Video"))]
    status = _first(r"status (?:is )?at\s*(?:\*\*)?\s*(top-level|`data\.status`)", text)
    return ExportRules(
        poll_interval_s=seconds(*poll.groups()) if poll else None,
        max_polls=int(polls.group(1)) if polls else None,
        free=bool(_first(r"export (?:does not|doesn't) cost|export is free|export \*\*free\*\*|"
                         r"does not deduct any credits", text)),
        retry_on_failure=bool(_first(r"new `?id`?,? retry once|retry new `?id`?", text)),
        progress=tuple(dict.fromkeys(progress)),
        status_at=("data" if "data.status" in status.group(1) else "top-level") if status else None,
    )


def links(doc: Document) -> Links:
    text = doc.all_text
    templates = re.findall(r"\$WEB(/workspace/[^\s`)]+)", text)
    project = kind = None
    for candidate in templates:
        if "ct=" in candidate:
            project, kind = candidate, "claim"
            break
    if project is None and templates:
        project = templates[0]
        kind = "token-in-url" if "token=$TOKEN" in project or "token=<" in project else "task"
    register = _first(r"(https?://[^\s`]+/register\?bind=)", text)
    registration = None
    if register:
        registration = register.group(1) + "{user_id}"
    elif _first(r"\?bind=", text):
        registration = "{web}/register?bind={user_id}"
    top_up = _first(r"top up at ([a-z0-9.-]+\.[a-z]+)", text)
    return Links(project=project, project_kind=kind, registration=registration,
                 top_up=top_up.group(1) if top_up else None)


# --------------------------------------------------------------------------- conversation

def conversation(doc: Document) -> ConversationText:
    text = doc.all_text
    quote = next((t.text for t in doc.texts if t.kind == "quote"), None)
    greeting = None
    if quote:  # a blockquote lazily swallows the "**Try saying:**" line after it
        kept = [ln for ln in quote.split("\n") if not ln.lstrip().startswith("**")]
        greeting = " ".join(ln.strip() for ln in kept if ln.strip()) or None
    examples: list[str] = []
    for para in doc.texts:
        if re.search(r"try saying", para.text, re.I):
            following = [lst for lst in doc.lists if lst.line > para.line]
            if following:
                examples = _whole_examples([q for item in following[0].items for q in quoted(item)], doc)
            break
    connecting = _first(r"(?:status like|let the user know briefly:)\s*[\"“]([^\"”]+)[\"”]", text)
    ready = _first(r"tell the user you're ready|then proceed", text)
    task = _first(r"\"task_name\"\s*:\s*\"([^\"]+)\"", text)
    language = None if re.search(r"\"language\"\s*:\s*\"<", text) else _first(r"\"language\"\s*:\s*\"([^\"<>]+)\"", text)
    labels, example = _track_labels(doc)
    return ConversationText(
        greeting=greeting,
        examples=tuple(examples),
        connecting=connecting.group(1) if connecting else None,
        ready="ready" if ready else None,
        quiet_setup=bool(_first(r"never mention tokens|keep the technical details out", text)),
        task_name=task.group(1) if task else None,
        language=language.group(1) if language else None,
        track_labels=labels,
        summary_example=example,
    )


# An example cut off mid-sentence ends in a word or mark that cannot end one
# ("generate background music that matches the").
_DANGLING = re.compile(
    r"(?:\b(?:the|a|an|my|your|our|their|its|his|her|this|that|these|those|of|to|for|with|and|or|but|in|on|at|by|"
    r"from|into|as|than|about|like|is|are|be)|[,:;\-–—…]|\.\.\.|[的和与或把给在对让将])\s*$", re.I)


def _whole_examples(examples: list[str], doc: Document) -> list[str]:
    """The "Try saying" examples, each whole: a cut-off one is completed from the document's own
    longer wording of it (the seed's third example is finished in its Tips), or left out."""
    whole: list[str] = []
    for example in examples:
        if not _DANGLING.search(example):
            whole.append(example)
            continue
        stem = example.rstrip(" .…,:;-–—").lower()
        longer = [q for q in quoted(doc.all_text)
                  if q.lower().startswith(stem + " ") and not _DANGLING.search(q)]
        if longer:
            whole.append(min(longer, key=len))
    return whole


def _track_labels(doc: Document) -> tuple[dict[int, str], str | None]:
    """Labels per track type, learnt from the document's own summary example.

    "``tt``=track type (0=video, 1=audio, 7=text)" gives the codes in order; the example
    "1. Video: … 2. BGM: … 3. Title: …" gives the words a user sees for them.
    """
    text = doc.all_text
    mapping = _first(r"`tt`\s*=\s*(?:track\s+)?type\s*\(([^)]+)\)", text)
    codes: list[tuple[int, str]] = []
    if mapping:
        codes = [(int(c), n.strip()) for c, n in re.findall(r"(\d+)\s*=\s*([^,]+)", mapping.group(1))]
    example_match = _first(r"(Timeline \(\d+ tracks?\):[^\n`]+)", text)
    example = example_match.group(1).strip() if example_match else None
    labels = {code: name.capitalize() for code, name in codes}
    if example:
        words = re.findall(r"\d+\.\s+([A-Za-z]+):", example)
        for (code, _), word in zip(codes, words):
            labels[code] = word
    return labels, example


# --------------------------------------------------------------------------- assemble

def skill(path: str, fm_raw: RawFrontmatter, doc: Document, repaired: tuple[int, ...]) -> Skill:
    fm = frontmatter(fm_raw, doc)
    env = env_table(doc)
    api, web = urls(doc, fm, env)
    found = endpoints(doc)
    route_rules = routes(doc)
    warnings = list(fm_raw.warnings)
    if repaired:
        warnings.append(f"{len(repaired)} line(s) were mis-encoded (UTF-8 read as Latin-1) and were repaired, "
                        f"first at line {repaired[0]}")
    problems: list[str] = []
    if not route_rules:
        problems.append("has no routing table ('| User says... | Action | ...'); this runtime needs one "
                        "to know which words mean export, credits, state and upload")
    missing = [n for n in _REQUIRED_ENDPOINTS if not any(e.name == n for e in found)]
    foreign = [e for e in found if e.name == "other"]
    if missing:
        calls = ", ".join(f"{e.method} {e.path}" for e in foreign[:3]) or "no API calls this runtime knows"
        problems.append(f"calls endpoints this runtime cannot drive ({calls}); it speaks the NemoVideo "
                        "nemo_agent protocol (session + /run_sse)")
    links_found = links(doc)
    if links_found.project_kind == "token-in-url":
        warnings.append("the document puts the API token in a browser link; the runtime gives a claim-token "
                        "link instead and never puts a token in a URL")
    attribution_found = attribution(doc, fm)
    if attribution_found.source is None:
        warnings.append("the document names no X-Skill-* attribution headers; the backend may refuse export (402)")
    return Skill(
        path=path,
        frontmatter=fm,
        attribution=attribution_found,
        routes=route_rules,
        gui=gui_rules(doc),
        sse=sse_rules(doc),
        recovery=recovery(doc),
        errors=errors(doc),
        formats=formats(doc, fm.description),
        max_upload_bytes=max_upload_bytes(doc),
        api_url=api,
        web_url=web,
        env=env,
        endpoints=found,
        export=export_rules(doc),
        links=links_found,
        conversation=conversation(doc),
        user_in_path=user_in_path(found),
        warnings=tuple(warnings),
        problems=tuple(problems),
        repaired_lines=repaired,
    )

