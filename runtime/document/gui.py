"""Backend text → what the user reads, plus the actions its GUI talk stands for.

The backend was built for a web editor: it says "Click **Export** to render", "drag the
music to 0:05", "open the timeline panel". Our user has no GUI, so each such instruction
is cut out of the reply and turned into a follow-up the conversation can act on (run
the export, show the track summary, show credits, offer the edit in words). Which
phrases count and what each stands for is the document's GUI table or bullet list.

How much is cut: the clause holding the instruction — back to the nearest separator
("," ";" "—" "and"…) when only filler words ("just", "you can", "simply") stand between
it and the instruction, else back to the start of the sentence — and on to the end of
the sentence. Content descriptions before it stay ("I added a lo-fi track at 35%").
Unambiguous GUI verbs (click, tap, drag, drop, 点击, 拖拽) are cut wherever they stand;
common words that are GUI talk only as commands ("open", "export", "preview") are cut
only in command position, so "the track opens with piano" survives.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from protocol.scripts import UNSPACED as _CJK
from runtime.document.model import GuiAction, GuiRule, Skill

_ALWAYS_GUI = re.compile(r"^(?:click|tap|press|drag|drop|点击|拖拽|拖动|单击)", re.I)
_GENERIC_PLACEHOLDER = re.compile(r"^(?:any\s+)?(?:button|panel|element|item)$", re.I)
_SENTENCE = re.compile(r"[^.!?。！？\n]*(?:[.!?。！？]+|\n|$)")
_FILLER = {
    "just", "simply", "then", "now", "please", "you", "can", "may", "could", "might", "feel", "free",
    "to", "go", "ahead", "and", "or", "also", "next", "finally", "once", "ready", "when", "done", "if",
    "happy", "satisfied", "you're", "youre", "re", "the", "a", "so", "afterwards", "after", "that",
    "only", "need", "all", "have", "is", "left", "do", "want", "should", "would", "like", "it", "we",
    "请", "然后", "您可以", "你可以", "可以", "直接", "再", "只需", "接下来", "最后",
}
_CUT_POINT = re.compile(r"(?:[,;:—–]\s*|\s+(?:and|then|or)\s+|[，；：、])")
_TARGET = re.compile(r"^\W*(?:on\s+)?(?:the\s+)?[*_`\"“']*([\w][\w\s-]{0,30}?)[*_`\"”']*(?:\s+(?:button|tab|icon|menu))?(?=\W|$)",
                     re.I)
_TERMINATORS = (".", "!", "?", "。", "！", "？")
_LEFTOVER_GUI = re.compile(r"\b(?:click(?:ing)?|tap|drag(?:ging)?|drop)\b|点击|拖拽", re.I)


@dataclass(frozen=True)
class FollowUp:
    """An action the backend's GUI talk stands for."""

    action: GuiAction
    phrase: str          # the GUI words that were found ("Click **Export**")
    instruction: str     # the whole clause that was cut, for offering it in words
    target: str | None   # what was to be clicked/opened ("Export", "timeline panel")


@dataclass(frozen=True)
class Translation:
    text: str
    followups: tuple[FollowUp, ...]
    removed: tuple[str, ...]

    def wants(self, action: GuiAction) -> bool:
        return any(f.action is action for f in self.followups)


@dataclass(frozen=True)
class _Matcher:
    rule: GuiRule
    phrase: str
    pattern: re.Pattern[str]
    command_only: bool       # only GUI talk in command position
    key: str                 # the word that names this rule's target ("Export", "导出")


_GUI_VERBS = {"click": GuiAction.EXECUTE, "tap": GuiAction.EXECUTE, "press": GuiAction.EXECUTE,
              "drag": GuiAction.EDIT, "drop": GuiAction.EDIT, "open": GuiAction.STATE, "preview": GuiAction.SUMMARY}


def _verb_matchers(rule: GuiRule, phrase: str, key: str) -> list[_Matcher]:
    """"drag clip" also covers "drag it"; "click Export" also covers "click Apply".

    Documents give GUI phrases as examples (verb + object). The verb alone stands for the
    same action, except when the object *is* the action ("click Export" → export): then
    the bare verb means a generic click, and the object decides later.
    """
    words = phrase.strip().strip("\"“”").split()
    if len(words) < 2:
        return []
    verb = words[0].split("/")[0].lower()
    if verb not in _GUI_VERBS:
        return []
    action = rule.action if not key else _GUI_VERBS[verb]
    generic = GuiRule(phrases=(verb,), action=action, instruction=rule.instruction, line=rule.line)
    pattern = re.compile(rf"\b{verb}\b", re.I)
    return [_Matcher(generic, verb, pattern, not _ALWAYS_GUI.match(verb), "")]


def _phrase_pattern(phrase: str) -> tuple[re.Pattern[str], bool, str]:
    """Compile a document phrase ("click [button]", "drag/drop", "check your [account/billing]")."""
    text = phrase.strip().strip("\"“”").replace("...", "").replace("…", "").strip()
    if _CJK.search(text):
        return re.compile(re.escape(text)), False, text
    parts: list[str] = []
    words = [w for w in re.split(r"\s+", text) if w]
    key = ""
    for word in words:
        bracket = re.fullmatch(r"\[(.+)\]", word) or re.fullmatch(r"\[(.+)", word) or re.fullmatch(r"(.+)\]", word)
        if bracket:
            inner = bracket.group(1)
            if _GENERIC_PLACEHOLDER.match(inner) or inner.lower() in ("any", "button", "panel"):
                continue
            alts = "|".join(re.escape(a) for a in inner.split("/") if a)
            parts.append(rf"(?:\W+[\w*`'\"]+){{0,3}}?\W+(?:{alts})\b")
            continue
        alts = [a for a in word.split("/") if a]
        alt_rx = "|".join(re.escape(a) for a in alts)
        if not parts:
            parts.append(rf"\b(?:{alt_rx})\b")
        else:
            parts.append(rf"(?:\W+[\w*`'\"]+){{0,2}}?\W+(?:{alt_rx})\b")
        if not key and word[:1].isupper():
            key = alts[0]
    first = words[0].split("/")[0] if words else ""
    command_only = len(words) == 1 and not _ALWAYS_GUI.match(first)
    if not key and words:
        key = words[-1] if len(words) == 1 else ""
    return re.compile("".join(parts), re.I), command_only, key


class GuiTranslator:
    """Translates backend replies with one skill's GUI rules."""

    def __init__(self, skill: Skill) -> None:
        self.matchers: list[_Matcher] = []
        for rule in skill.gui:
            for phrase in rule.phrases:
                pattern, command_only, key = _phrase_pattern(phrase)
                self.matchers.append(_Matcher(rule, phrase, pattern, command_only, key))
                self.matchers.extend(_verb_matchers(rule, phrase, key))
        # Safety net: GUI verbs the document's phrases did not cover are still GUI talk.
        net = GuiRule(phrases=(), action=GuiAction.EXECUTE, instruction="", line=0)
        drag = GuiRule(phrases=(), action=GuiAction.EDIT, instruction="", line=0)
        self.matchers.append(_Matcher(net, "click", re.compile(r"\b(?:click|tap)\b|点击|单击", re.I), False, ""))
        self.matchers.append(_Matcher(drag, "drag", re.compile(r"\b(?:drag|drop)\b|拖拽|拖动", re.I), False, ""))

    def translate(self, text: str) -> Translation:
        followups: list[FollowUp] = []
        removed: list[str] = []
        kept: list[str] = []
        for sentence in _sentences(text):
            out, cut = self._sentence(sentence, followups)
            removed.extend(cut)
            kept.append(out)
        clean = _tidy("".join(kept))
        return Translation(text=clean, followups=tuple(_dedupe(followups)), removed=tuple(removed))

    def _sentence(self, sentence: str, followups: list[FollowUp]) -> tuple[str, list[str]]:
        cut: list[str] = []
        ending = "\n" if sentence.endswith("\n") else " "
        while (hit := self._first_hit(sentence)) is not None:
            matcher, match = hit
            start = _clause_start(sentence, match.start())
            followups.append(self._followup(matcher, match, sentence))
            # "Preview in timeline, then click Export": the rest of the cut clause may ask for more
            rest = sentence[match.end():]
            while (more := self._first_hit(rest)) is not None:
                followups.append(self._followup(more[0], more[1], rest))
                rest = rest[more[1].end():]
            cut.append(sentence[start:].strip())
            kept = sentence[:start].rstrip(" ,;:—–，；")
            if kept.strip() and not kept.endswith(_TERMINATORS):
                kept += "."
            sentence = kept + ending
        return sentence, cut

    def _first_hit(self, sentence: str) -> tuple[_Matcher, re.Match[str]] | None:
        best: tuple[_Matcher, re.Match[str]] | None = None
        for matcher in self.matchers:
            for match in matcher.pattern.finditer(sentence):
                if matcher.command_only and not _command_position(sentence, match.start()):
                    continue
                if best is None or match.start() < best[1].start() or (
                        match.start() == best[1].start() and len(match.group(0)) > len(best[1].group(0))):
                    best = (matcher, match)
                break
        return best

    def _followup(self, matcher: _Matcher, match: re.Match[str], sentence: str) -> FollowUp:
        action = matcher.rule.action
        target = None
        if action in (GuiAction.EXECUTE, GuiAction.STATE, GuiAction.QUERY):
            after = sentence[match.end():]
            found = _TARGET.match(after)
            target = found.group(1).strip() if found else None
            resolved = self._resolve_target(target, sentence[match.start():])
            if resolved is not None:
                action = resolved
        return FollowUp(action=action, phrase=match.group(0).strip(), instruction=sentence.strip(), target=target)

    def _resolve_target(self, target: str | None, rest: str) -> GuiAction | None:
        """"Click **Export**" is the export rule, not a generic click."""
        names = [target] if target else []
        names.append(rest[:40])
        for name in names:
            for matcher in self.matchers:
                key = matcher.key
                if not key or matcher.rule.action in (GuiAction.EXECUTE, GuiAction.STATE, GuiAction.QUERY):
                    continue
                found = key in name if _CJK.search(key) else re.search(
                    rf"(?<!\w){re.escape(key)}(?!\w)", name, re.I)
                if found:
                    return matcher.rule.action
        return None


def _sentences(text: str) -> list[str]:
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0)]


def _words(text: str) -> list[str]:
    return [w.lower().strip("'’*`_\"") for w in re.findall(r"[\w'’]+|[\u4e00-\u9fff]+", text)]


def _only_filler(text: str) -> bool:
    words = _words(text)
    return all(w in _FILLER or _CJK.search(w) and all(ch in "".join(_FILLER) for ch in w) for w in words)


def _command_position(sentence: str, index: int) -> bool:
    """True when only filler, markup or emoji stands before ``index`` in its clause."""
    return _only_filler(sentence[_clause_start(sentence, index):index])


def _clause_start(sentence: str, index: int) -> int:
    """Where the clause holding ``index`` starts (see module docstring)."""
    before = sentence[:index]
    if _only_filler(before):
        return 0
    for separator in reversed(list(_CUT_POINT.finditer(before))):
        if _only_filler(before[separator.end():]):
            return separator.start()
    return 0


def _tidy(text: str) -> str:
    text = re.sub(r"\*\*\s*\*\*", "", text)
    text = re.sub(r"[ \t]+([,.!?;:])", r"\1", text)
    text = re.sub(r"([.!?])\.+", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\n[ \t]+", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    lines = [ln.rstrip() for ln in text.split("\n")]
    lines = [ln for ln in lines if not re.fullmatch(r"\s*[-*•]?\s*[,.;:!?]?\s*", ln) or not ln.strip()]
    return "\n".join(lines).strip()


def _dedupe(followups: list[FollowUp]) -> list[FollowUp]:
    seen: set[GuiAction] = set()
    out: list[FollowUp] = []
    for f in followups:
        if f.action not in seen:
            seen.add(f.action)
            out.append(f)
    return out


def leftover_gui_words(text: str) -> list[str]:
    """GUI verbs still present in ``text`` (should be none after :meth:`translate`)."""
    return _LEFTOVER_GUI.findall(text)
