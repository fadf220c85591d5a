"""What the user said (+ attached files) → which of the skill's actions to run.

The keywords come from the document's routing table (``runtime.document.model``); this module
only decides how to match them. The rules, in order:

1. **Files first.** An attached file, or a path to an existing media file (or a URL to
   one) inside the text, routes to Upload. The rest of the text is kept and routed again
   as the follow-up ("upload this and add lo-fi music" → Upload, then Chat).
2. **Keywords.** Latin keywords match whole words, case-insensitively ("export" matches
   "Export 1080p MP4" but not "exporter" or "reexported"); CJK keywords match as
   substrings ("帮我导出视频" → Export), since Chinese has no spaces between words.
   Text the user put in quotes is content, not a command ("add a title 'Export Ready'"
   is an edit), so quoted spans are not searched.
3. **Not when negated or asked about.** "don't export yet", "不要导出", "how do I
   export?", "如何导出" do not trigger the action: the words fall through to the
   fallback row (the backend answers questions and takes instructions). A request
   phrased as a question ("can you export it?") still triggers it.
   **Nor when the keyword means something else in its clause** (``runtime.document.intent``): a thing
   in the video ("the credits roll at the end needs music"), the subject of a remark ("upload
   speed was slow"), the verb of an edit ("balance out the voice and the music").
4. **Several actions in one sentence.** The text is split into clauses at "and", "then",
   ",", "然后"…; each clause is routed; consecutive chat clauses are merged. The first
   step is the route; the rest follow in order ("add music and then export" → Chat,
   then Export; "show tracks and credits" → State, then Credits). Within a clause, the
   keyword that appears first wins (ties: the longer keyword), because people name the
   thing they want done before the things they mention about it.
5. Nothing matched → the fallback row ("Everything else" → SSE chat).

Only the first ``SCAN_LIMIT`` characters are searched for keywords: a pasted essay is an
instruction for the backend, and routing must stay fast for any input.
"""
from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import urlparse

from protocol.scripts import UNSPACED as _CJK
from runtime.document.intent import not_a_request
from runtime.document.model import Action, RouteRule, Skill

SCAN_LIMIT = 4000
# Actions that tell the user something: their keywords are nouns ("credits", "status").
_REPORTS = frozenset({Action.CREDITS, Action.STATE})

_QUOTED_SPAN = re.compile(r"\"[^\"]*\"|“[^”]*”|「[^」]*」|'[^'\n]{2,}'(?!\w)|‘[^’]*’")
_CLAUSE_SPLIT = re.compile(
    r"\s*(?:,?\s+and\s+then\s+|,?\s+then\s+|,?\s+and\s+(?=\w)|,\s+|;\s*|\.\s+|!\s+|"
    r"然后|之后|，|；|。|并且)\s*", re.I)
_NEGATION_LATIN = re.compile(
    r"(?:\b(?:don'?t|do\s+not|dont|never|not|no|without|stop|cancel|skip|hold\s+off(?:\s+on)?|"
    r"wait\s+(?:before|to))\s+(?:\w+\s+){0,2})$", re.I)
_NEGATION_CJK = re.compile(r"(?:不要|别|先不|不用|暂时不|暂不|不想|不必|无需|不)\s*\S{0,2}$")
# Questions about *how* an action works; "what's my balance" asks for the action itself.
_QUESTION_LATIN = re.compile(
    r"\b(?:how\s+(?:do|can|could|would|should|does|to)|why|what\s+(?:does|do|would|happens)|"
    r"is\s+it\s+possible\s+to|when\s+(?:should|can|do))\b[^.!?]*$", re.I)
_QUESTION_CJK = re.compile(r"(?:如何|怎么|怎样|为什么|为何|什么是|是否能)\S{0,4}$")
_LEADING_JOINER = re.compile(r"^\s*(?:and\s+then|then|and|also|plus|,|然后|并且|并)\s*", re.I)
_URL = re.compile(r"(?:https?|file)://[^\s\"'<>]+", re.I)


@dataclass(frozen=True)
class Route:
    """One step: the action, why it was chosen, and what it acts on."""

    action: Action
    reason: str
    text: str = ""
    keyword: str | None = None
    attachments: tuple[str, ...] = ()
    skip_sse: bool = True
    section: str | None = None
    then: tuple["Route", ...] = field(default=())

    @property
    def steps(self) -> tuple["Route", ...]:
        return (replace(self, then=()), *self.then)

    def to_json(self) -> dict[str, object]:
        return {
            "action": self.action.value,
            "keyword": self.keyword,
            "reason": self.reason,
            "text": self.text,
            "attachments": list(self.attachments),
            "skip_sse": self.skip_sse,
            "section": self.section,
            "then": [step.to_json() for step in self.then],
        }


@dataclass(frozen=True)
class _Match:
    rule: RouteRule
    keyword: str
    start: int


class Router:
    """Routes utterances with one skill's table; patterns compiled once."""

    def __init__(self, skill: Skill) -> None:
        skill.require_runnable()
        self.skill = skill
        self._patterns: list[tuple[RouteRule, str, re.Pattern[str]]] = []
        for rule in skill.routes:
            if rule.fallback:
                continue
            for keyword in rule.keywords:
                self._patterns.append((rule, keyword, _keyword_pattern(keyword)))
        self._fallback = skill.fallback_route
        self._upload = next((r for r in skill.routes if r.on_file), None) or skill.route_for(Action.UPLOAD)
        self._extensions = {e.lower() for e in skill.formats.all}

    # ------------------------------------------------------------------ public

    def route(self, text: str, attachments: Sequence[str] = ()) -> Route:
        """Route one user turn; never raises for any text."""
        text = text or ""
        found = list(attachments)
        rest = text
        if len(text) <= SCAN_LIMIT * 4:
            rest, in_text = self._paths_in(text)
            found += in_text
        if found:
            rest = _LEADING_JOINER.sub("", rest)
            # "upload this and add music": the upload keyword means the file already attached
            follow = [s for s in self._steps(rest) if s.action is not Action.UPLOAD] if rest.strip() else []
            rule = self._upload
            names = ", ".join(os.path.basename(urlparse(f).path) or f for f in found)
            return Route(
                action=Action.UPLOAD,
                reason=f"file to send: {names} (rule: user sends file)",
                text=rest.strip(),
                attachments=tuple(found),
                skip_sse=rule.skip_sse if rule else True,
                section=rule.section if rule else None,
                then=tuple(follow),
            )
        steps = self._steps(text)
        return replace(steps[0], then=tuple(steps[1:]))

    # ------------------------------------------------------------------ steps

    def _steps(self, text: str) -> list[Route]:
        """Route each clause; merge the chat clauses into one message, in the user's words."""
        routed = [(sep, clause, self._clause(clause)) for sep, clause in _clauses(text[:SCAN_LIMIT])]
        if any(r.action is not Action.CHAT for _, _, r in routed):
            # "ok, export": an interjection is not an instruction for the backend
            routed = [(sep, c, r) for sep, c, r in routed if r.action is not Action.CHAT or not _interjection(c)]
        if not routed:
            return [self._clause(text[:SCAN_LIMIT])]
        chat_parts = [(sep, clause) for sep, clause, r in routed if r.action is Action.CHAT]
        chat_text = "".join((sep if i else "") + clause for i, (sep, clause) in enumerate(chat_parts))
        if len(text) > SCAN_LIMIT and chat_parts:
            chat_text += text[SCAN_LIMIT:]
        steps: list[Route] = []
        for _, _, step in routed:
            if step.action is Action.CHAT:
                if any(s.action is Action.CHAT for s in steps):
                    continue
                step = replace(step, text=chat_text.strip())
            elif steps and steps[-1].action is step.action:
                continue
            steps.append(step)
        return steps

    def _clause(self, clause: str) -> Route:
        searchable = _blank_quotes(clause)
        matches: list[_Match] = []
        refused: list[str] = []
        for rule, keyword, pattern in self._patterns:
            for m in pattern.finditer(searchable):
                why = _refusal(searchable[: m.start()], keyword)
                if why is None and rule.action is not Action.CHAT:
                    why = not_a_request(searchable, m.start(), m.end(), keyword, reports=rule.action in _REPORTS)
                if why:
                    refused.append(f"'{keyword}' is {why}")
                    continue
                matches.append(_Match(rule, keyword, m.start()))
                break
        if matches:
            best = min(matches, key=lambda m: (m.start, -len(m.keyword)))
            return Route(
                action=best.rule.action,
                reason=f"matched '{best.keyword}' (table row at line {best.rule.line}: {best.rule.label})",
                text=clause.strip(),
                keyword=best.keyword,
                skip_sse=best.rule.skip_sse,
                section=best.rule.section,
            )
        fallback = self._fallback
        reason = "no keyword of the routing table matched"
        if refused:
            reason = "; ".join(dict.fromkeys(refused)) + " — so it goes to the backend"
        return Route(
            action=fallback.action if fallback else Action.CHAT,
            reason=f"{reason} (fallback row: {fallback.label})" if fallback else reason,
            text=clause.strip(),
            skip_sse=fallback.skip_sse if fallback else False,
            section=fallback.section if fallback else None,
        )

    # ------------------------------------------------------------------ files

    def _paths_in(self, text: str) -> tuple[str, list[str]]:
        """Media files and media URLs named in ``text``, and the text without them."""
        found: list[str] = []
        rest = text
        for url in _URL.findall(text):
            clean = url.rstrip(".,;:!?)")
            if self._is_media_url(clean):
                found.append(clean)
                rest = rest.replace(clean, " ", 1)
        for token in _tokens(rest):
            candidate = token.strip().strip(",;:!?")
            if not candidate or len(candidate) > 4096 or "\x00" in candidate:  # no path holds a NUL
                continue
            path = Path(os.path.expanduser(candidate))
            if path.suffix.lower().lstrip(".") not in self._extensions and not _looks_like_path(candidate):
                continue
            try:
                is_file = path.is_file()
            except (OSError, ValueError):
                continue
            if is_file:
                found.append(str(path))
                rest = _remove_token(rest, token)
        return " ".join(rest.split()), found

    def _is_media_url(self, url: str) -> bool:
        parsed = urlparse(url)
        suffix = Path(parsed.path).suffix.lower().lstrip(".")
        if parsed.scheme == "file":
            return True
        return suffix in self._extensions


_INTERJECTIONS = {"ok", "okay", "yes", "yeah", "yep", "sure", "great", "good", "nice", "cool", "perfect",
                  "thanks", "thank", "you", "please", "now", "so", "alright", "right", "fine", "done", "go", "ahead",
                  "好", "好的", "行", "可以", "谢谢", "嗯", "现在"}


def _interjection(clause: str) -> bool:
    words = re.findall(r"[\w']+", clause.lower())
    return bool(words) and all(w in _INTERJECTIONS for w in words)


def _clauses(text: str) -> list[tuple[str, str]]:
    """(separator before, clause) pairs; separators are kept to rebuild chat text."""
    out: list[tuple[str, str]] = []
    last, sep = 0, ""
    for m in _CLAUSE_SPLIT.finditer(text):
        if m.start() > last and text[last:m.start()].strip():
            out.append((sep, text[last:m.start()]))
            sep = m.group(0)
        elif out:
            sep += m.group(0)
        last = m.end()
    if text[last:].strip():
        out.append((sep, text[last:]))
    return out


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(part) for part in keyword.split())
    if _CJK.search(keyword):
        return re.compile(body, re.I)
    return re.compile(rf"(?<![\w-]){body}(?![\w-])", re.I)


def _blank_quotes(text: str) -> str:
    """Replace quoted spans by spaces of the same length (positions stay valid)."""
    return _QUOTED_SPAN.sub(lambda m: " " * len(m.group(0)), text)


def _refusal(before: str, keyword: str) -> str | None:
    """Why a keyword occurrence is not a command: negated or asked about; else None."""
    if _CJK.search(keyword):
        if _NEGATION_CJK.search(before):
            return "negated"
        if _QUESTION_CJK.search(before):
            return "asked about, not requested"
        return None
    tail = before[-80:]
    if _NEGATION_LATIN.search(tail):
        return "negated"
    if _QUESTION_LATIN.search(tail) and not re.search(r"\b(?:can|could|would|will)\s+you\b|\bplease\b", tail, re.I):
        return "asked about, not requested"
    return None


def _tokens(text: str) -> Iterable[str]:
    try:
        tokens = shlex.split(text, posix=True)
    except ValueError:
        tokens = text.split()
    # A path with spaces typed in quotes is one token; an unquoted one is not found.
    return tokens


def _looks_like_path(token: str) -> bool:
    return token.startswith(("/", "~", "./", "../")) or os.sep in token


def _remove_token(text: str, token: str) -> str:
    for form in (f'"{token}"', f"'{token}'", token):
        if form in text:
            return text.replace(form, " ", 1)
    return text
