"""Is a routing keyword, where it stands in its clause, a request for its action?

SKILL.md routes a turn "via keyword and intent classification". The keywords come from the
document's table (``runtime.document.model``); this module is the intent half. A keyword the user
typed can name the action ("export 1080p", "what's my balance") or something else: a thing
inside the video ("the credits roll at the end"), the subject of a remark ("upload speed was
slow"), the verb of an edit ("balance out the voice and the music"). Which one it is follows
from the keyword's role in its clause, read with a few rules of grammar that hold for any
table (no keyword is named here):

1. **Part of an edit.** An editing verb comes before it in the clause: the clause is an edit
   and the keyword is what it is about ("add music over the end credits").
2. **Subject of a statement.** A finite verb follows it within a few words, before any
   "when/that/if…" ("upload speed was slow", "status quo is boring", "export looks blurry").
3. **Subject noun phrase.** The clause opens with "the/a/this…" + keyword and goes on
   ("the credits roll at the end needs music").
4. **A report's noun used as a verb.** Keywords of the actions that *tell* the user something
   (credits, state) are nouns; followed by a particle or an object they are the verb of an
   edit ("balance out the voice", "balance the music").
5. **Asked about.** An export or upload keyword as the subject of a question ("is the export
   done?", "did my upload work?") asks how that went; it does not ask for another one.

Chinese has no inflection, so the signs are particles: a keyword followed by 的 describes a
noun ("导出的视频" the exported video, "上传的视频"); followed by 很/太/有点… it is the subject of
a remark ("上传速度很慢", "状态很好") unless the clause asks (吗, 什么, 多少…); followed by
栏/榜/条 it is part of another noun ("状态栏" status bar, "积分榜" leaderboard).

A keyword that passes these rules is a request, as before: the rules only take away matches.
"""
from __future__ import annotations

import re

from protocol.scripts import UNSPACED as _CJK

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?", re.I)

# Verbs that make a clause an edit of the video (rule 1). "start", "run", "do", "get", "show"
# are left out on purpose: "start the export", "show me the status" ask for the action.
EDIT_VERBS = frozenset("""
    add adjust align balance blur boost brighten caption change combine compose create crop cut darken
    decrease delete drop duck edit extend fade fix generate improve increase insert join keep layer
    lengthen loop lower make match merge mix move mute overlay place play put raise reduce remove reorder
    replace resize rotate score set shorten slow speed split swap sync trim tweak underscore unmute use
""".split())
# Finite verbs (and copulas) that make the words before them a subject (rule 2).
FINITE_VERBS = frozenset("""
    is are was were isn't aren't wasn't weren't has have had hasn't haven't hadn't does did doesn't
    didn't will won't would wouldn't can't cannot could couldn't should shouldn't might must
    seems seemed looks looked feels felt sounds sounded needs needed keeps kept gets got goes went
    takes took fails failed stops stopped breaks broke rolls rolled plays played starts started ends
    ended appears appeared comes came happens happened becomes became remains stays stayed runs ran
    hangs hung freezes froze crashes crashed lags lagged
""".split())
# After a plural noun ("credits", "tracks") the plain form is finite too: "the credits roll".
PLURAL_VERBS = frozenset(
    "roll play start end appear come look sound need seem feel go take stay begin run show".split())
# Words after which a new clause starts (a verb beyond them belongs to it), pronouns included:
# in "export everything we have" the verb is the pronoun's.
_SUBORDINATORS = frozenset("""
    when if once after before because since so as while until till that which who whom whose where
    but though although unless than whether and or then what
    i we you they he she it
""".split())
# "how many credits do I have": the verb after the keyword belongs to the question.
_INTERROGATIVES = frozenset("how what what's whats which any many much where".split())
DETERMINERS = frozenset("the a an this that these those our their its his her".split())
# Politeness and adverbs that may follow a request without changing it.
_POLITE = frozenset("please pls now again too also first quickly asap already right away for me thanks".split())
_PARTICLES = frozenset("out up off down over between".split())
_OBJECTS = frozenset("the a an my your our their his her its it them this these those".split())
_AUXILIARIES = frozenset("is are was were did does has have had".split())

_ZH_ATTRIBUTIVE = re.compile(r"^\s*的")
_ZH_COMPOUND = re.compile(r"^(?:栏|榜|条)")
_ZH_REMARK = re.compile(r"^\S{0,3}?(?:很|太|非常|挺|有点|有些|特别|真|好像|似乎|看起来|一直|总是|不错|正常|一般|失败|卡)")
_ZH_ASKS = re.compile(r"吗|么|什么|多少|怎样|怎么样|几|[?？]")


def not_a_request(clause: str, start: int, end: int, keyword: str, *, reports: bool) -> str | None:
    """Why the keyword at ``clause[start:end]`` is not a request for its action; None if it is.

    ``reports`` is true for actions that tell the user something (credits, state): their
    keywords are nouns.
    """
    if _CJK.search(keyword):
        return _chinese(clause[end:])
    before = [w.lower() for w in _WORD.findall(clause[:start])]
    after = [w.lower() for w in _WORD.findall(clause[end:])]
    for i, word in enumerate(before):
        if word in EDIT_VERBS and not (word == "make" and before[i + 1:i + 2] == ["sure"]):
            return f"part of an edit ('{word} …'), not a request"
    if not _INTERROGATIVES & set(before) and _subject_of_statement(after, keyword):
        return "the subject of a statement, not a request"
    content_after = [w for w in after if w not in _POLITE]
    if before and before[0] in DETERMINERS and len(before) <= 3 and content_after:
        return "something the clause talks about, not a request"
    if reports and " " not in keyword.strip() and after and (after[0] in _PARTICLES or after[0] in _OBJECTS):
        return f"used as a verb ('{keyword} {after[0]} …'), not a request"
    if (not reports and len(before) in (2, 3) and before[0] in _AUXILIARIES
            and before[1] in DETERMINERS | {"my", "your"}):
        return "asked about, not requested"  # "is the export done?", "did my upload work?"
    return None


def _subject_of_statement(after: list[str], keyword: str) -> bool:
    plural = keyword.strip().lower().endswith("s")
    for word in after[:4]:
        if word in _SUBORDINATORS:
            return False
        if word in FINITE_VERBS or (plural and word in PLURAL_VERBS):
            return True
    return False


def _chinese(after: str) -> str | None:
    if _ZH_ATTRIBUTIVE.search(after):
        return "an attribute of a noun (…的), not a request"
    if _ZH_COMPOUND.search(after):
        return "part of another noun, not a request"
    if _ZH_REMARK.search(after) and not _ZH_ASKS.search(after):
        return "the subject of a remark, not a request"
    return None
