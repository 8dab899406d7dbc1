"""Reply quality: does an official reply answer the demand? And how long did it take?

No Django here. :func:`check` reads a question (title, text) and a reply and returns findings, each a
stable English code with a Chinese message for the supervisor:

``reply_empty``
    nothing at all.
``template_only``
    nothing but boilerplate — greetings, "留言已收悉", "现将有关情况回复如下", thanks, a date, a signature:
    fewer than ``TEMPLATE_CHARS`` characters of substance remain.
``too_short``
    some substance, but fewer than ``SHORT_CHARS`` characters of it and no sign of handling (经调查/已责令/
    将派……): no room for facts, measures or a result — typically "已转××部门调查核处" and nothing else.
``passing_buck``
    the person is sent elsewhere ("请向……反映", "请咨询……部门", "不属于我单位职责", "建议通过法律途径")
    while the reply neither records a transfer (已转交/已移交/已联系……) nor reports any handling of its own
    (经调查/已责令/现已……), and the rest of it (the sentences without the sending-away) has fewer than
    ``BUCK_REST_CHARS`` characters of substance — the passing-on is the whole answer. A full answer that
    ends with "具体请咨询……" is not passing the buck.
``off_subject``
    the reply, once the question's title quoted back in it is removed, addresses none of the title's key
    words (a word, or for words of 3+ characters one of its two-character pieces), less than
    ``SUBJECT_SHARE`` of the weight of the question's key terms, and less than ``SUBJECT_PIECES`` of the
    two-character pieces of the question: it does not talk about what was asked.
    Word overlap is a weak signal (replies answer in other words), so the check is deliberately strict.

:func:`delays` gives reply-delay statistics (calendar days, median, quantiles, shares within limits).
Precision of each check on a labelled sample is in ``docs/reply-quality.md``.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from . import cluster as _cluster

TEMPLATE_CHARS = 8
SHORT_CHARS = 40
BUCK_REST_CHARS = 60
SUBJECT_SHARE = 0.1
SUBJECT_MIN_TERMS = 2
SUBJECT_PIECES = 0.04

MESSAGES = {
    "reply_empty": "答复内容为空",
    "template_only": "答复只有客套话（如“留言已收悉”“感谢您的关注”），没有回应群众反映的具体问题",
    "too_short": "答复过于简短，没有说明调查核实情况、办理措施或结果",
    "passing_buck": "答复让群众另找其他部门，却没有转办或本单位的办理情况（推诿）",
    "off_subject": "答复没有涉及群众所反映问题的主要内容，可能答非所问",
}

# boilerplate: removed before the substance is measured
_BOILERPLATE = [
    r"(?:网友|网民|市民|同志|先生|女士)?[“\"]?[A-Za-z]*\d*[”\"]?[：:，,]?\s*(?:您好|你好)[！!，,。.]?",
    r"(?:尊敬的)?(?:网友|网民|市民|群众|同志|朋友)(?:[“\"][^”\"]{0,20}[”\"])?[：:，,]?",
    r"[“\"][A-Za-z]{1,4}\d{3,}[”\"]",
    r"(?:您|你)?(?:的|所)?(?:留言|来信|来邮|来电|信件|函件|网帖|帖子|诉求|反映|问题|邮件)(?:已|均已)?(?:收悉|收到|知悉)",
    r"已收悉|收悉|已知悉",
    r"(?:现|特)(?:将|就|作)?(?:有关|相关|调查|办理|处理)?(?:情况|结果)?(?:回复|答复|函复)如下[：:]?",
    r"(?:感谢|谢谢)(?:您|你)?(?:对|的)[^。！!，,；;]{0,30}(?:关心|关注|支持|理解|信任|监督|建议)[^。！!，,；;]{0,10}[。！!]?",
    r"(?:再次)?(?:感谢|谢谢)(?:您|你)?(?:的)?(?:来信|留言|关注|支持|理解)?[。！!]?",
    r"特此(?:回复|答复|函复)[。！!]?|此复[。！!]?",
    r"(?:如有疑问|如有问题|如有不明)[^。，,]{0,40}[。]?",
    r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日",
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}",
    r"祝(?:您|你)?[^。！!，,]{0,10}[。！!]?",
]
_BOILER = re.compile("|".join(f"(?:{p})" for p in _BOILERPLATE))
_SIGNATURE = re.compile(r"[\u4e00-\u9fffA-Z0-9]{2,30}(?:局|委|办|办公室|政府|街道|镇|乡|中心|公司|医院|大队|支队|所|院|处|站|委员会)$")
_NOT_TEXT = re.compile(r"[^\u4e00-\u9fffA-Za-z0-9]")

_BUCK = re.compile(
    r"请(?:您|你)?(?:直接|及时|依法|依照[^，。]{0,10})?(?:向|到|前往|联系|咨询|致电)[^，。；]{0,25}(?:反映|咨询|投诉|举报|申请|办理|起诉|仲裁|联系)"
    r"|建议(?:您|你)?(?:直接)?(?:到|向(?!上)|去|前往|咨询|联系|致电)[^，。；]{0,20}(?:反映|咨询|投诉|举报|申请|办理|联系|部门|单位|局|委)"
    r"|请(?:您|你)?(?:咨询|联系|致电)[^，。；]{0,20}(?:部门|单位|局|委|公司|中心|协会|法院|派出所|政府|街道|社区)"
    r"|不属于(?:我|本)(?:单位|部门|局|委|办|中心|镇|街道)?[^，。]{0,6}(?:职责|职能|管辖|受理|处理|管理)"
    r"|不在(?:我|本)(?:单位|部门|局|委|办)?[^，。]{0,6}(?:职责|职能|管辖|受理)(?:范围)?"
    r"|非我(?:单位|部门|局|委)(?:职责|职能|管辖)"
    r"|(?:建议|可以|可)(?:您|你)?(?:通过|走|依法通过|依法向)[^，。]{0,8}(?:法律|司法|诉讼|仲裁)(?:途径|程序|渠道)"
    r"|(?:请|建议)(?:您|你)?(?:自行)?(?:协商解决|通过协商)"
    r"|建议(?:您|你)?(?:直接)?(?:和|与|找)[^，。；]{0,15}(?:沟通|协商|联系|反映)"
)
_TRANSFER = re.compile(
    r"已(?:将|把)?[^，。]{0,12}(?:转交|移交|转送|转至|转给|转办|函告|交由|发函|去函)|已(?:与|和|联系|协调|督促|责成|要求)"
    r"|(?:转交|移交|转送)(?:给|至)?[^，。]{0,15}(?:办理|处理|核查)"
)
_HANDLED = re.compile(
    r"经(?:过)?(?:调查|核实|核查|了解|查询|现场|实地|走访|研究|协调|会商)|已(?:责令|安排|派|组织|完成|督促|对|开展|启动|落实|解决|整改|维修|修复|清理|处理|处罚|立案|拆除)"
    r"|现已|目前已|下一步|将(?:于|在)\d|将(?:派|组织|安排|开展|督促|协调|责令)|正在(?:办理|处理|推进|建设|施工|协调)"
)
_QUOTED = re.compile(r"[“\"《]([^”\"》]{4,80})[”\"》]")


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    evidence: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _is_signature(part: str) -> bool:
    """A bare unit name ("A7县城管局", "L1区网宣办"): no sentence punctuation, no verb of handling."""
    bare = _NOT_TEXT.sub("", part)
    return (len(bare) <= 20 and bool(_SIGNATURE.search(bare)) and not re.search(r"[，。,；;：:]", part)
            and "已" not in part and "转" not in part)


def substance(reply: str) -> str:
    """The reply without boilerplate, a trailing signature and punctuation: what is left to judge."""
    text = _cluster.normalize(reply)
    text = _BOILER.sub(" ", text)
    parts = [p for p in re.split(r"[\s　]+", text) if p]
    # a signature is a short last segment set apart by white space ("…现已修复。 A7县城管局"), never the whole reply
    while len(parts) > 1 and _is_signature(parts[-1]):
        parts.pop()
    return _NOT_TEXT.sub("", "".join(parts))


def _without_sentences_of(reply: str, pattern: re.Pattern) -> str:
    """The substance of ``reply`` once the sentences matching ``pattern`` are taken out."""
    kept = [part for part in re.split(r"(?<=[。！!；;？?])", reply or "") if not pattern.search(part)]
    return substance("".join(kept))


def _question_terms(title: str, text: str) -> dict[str, float]:
    """Key terms of the question: the title's words (weight 2) and the words the text repeats (weight 1)."""
    terms: dict[str, float] = {}
    for w in _cluster.words(title):
        terms[w] = 2.0
    counts: dict[str, int] = {}
    for w in _cluster.words((text or "")[:500]):
        counts[w] = counts.get(w, 0) + 1
    for w, k in counts.items():
        if k >= 2:
            terms.setdefault(w, 1.0)
    return terms


def _addressed(term: str, body: str) -> bool:
    """A term is addressed when it occurs in the reply, or, for a word of 3+ characters, one of its
    two-character pieces does ("拖欠工资" → "工资", "看电视" → "电视")."""
    if term in body:
        return True
    return len(term) >= 3 and any(term[i : i + 2] in body for i in range(len(term) - 1))


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def _bigrams(text: str) -> set[str]:
    out: set[str] = set()
    for run in _CJK_RUN.findall(text):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def subject_share(title: str, text: str, reply: str) -> tuple[float, float, float, int]:
    """How much of the question the reply talks about, outside quotations of the title and boilerplate:
    (share of the title's key words addressed, share of the weight of all the question's key terms, share
    of the question's two-character pieces (title and the start of the text) found in the reply, number of
    the title's key words)."""
    terms = _question_terms(title, text)
    n_title = sum(1 for w in terms.values() if w >= 2)
    body = _cluster.normalize(reply)
    title_n = _cluster.normalize(title)

    def _strip_title_quote(m: re.Match) -> str:
        inner = m.group(1)
        # a quotation of (most of) the title says nothing about whether the reply answers it
        same = sum(1 for ch in set(inner) if ch in title_n) / max(len(set(inner)), 1)
        return " " if same >= 0.8 else m.group(0)

    body = _BOILER.sub(" ", _QUOTED.sub(_strip_title_quote, body)).lower()
    question = _bigrams(_cluster._PLACE_CODE.sub(" ", f"{title_n} {_cluster.normalize(text)[:300]}"))
    pieces = len(question & _bigrams(body)) / len(question) if question else 1.0
    if not terms:
        return 1.0, 1.0, pieces, 0
    hit = {t: _addressed(t, body) for t in terms}
    title_share = sum(1 for t, w in terms.items() if w >= 2 and hit[t]) / n_title if n_title else 1.0
    return title_share, sum(w for t, w in terms.items() if hit[t]) / sum(terms.values()), pieces, n_title


def check(title: str, text: str, reply: str) -> list[Finding]:
    """The findings on one reply (an empty list: nothing to say)."""
    reply = reply or ""
    if not reply.strip():
        return [Finding("reply_empty", MESSAGES["reply_empty"])]
    out: list[Finding] = []
    core = substance(reply)
    buck = _BUCK.search(reply)
    passing = (bool(buck) and not _TRANSFER.search(reply) and not _HANDLED.search(reply)
               and len(_without_sentences_of(reply, _BUCK)) < BUCK_REST_CHARS)
    if len(core) < TEMPLATE_CHARS and not passing:
        return [Finding("template_only", MESSAGES["template_only"], core)]
    handled = _HANDLED.search(reply)
    if len(core) < SHORT_CHARS and not handled:
        out.append(Finding("too_short", MESSAGES["too_short"], core))
    if passing:
        out.append(Finding("passing_buck", MESSAGES["passing_buck"], buck.group(0)))
    title_share, share, pieces, n_title = subject_share(title, text, reply)
    if n_title >= SUBJECT_MIN_TERMS and title_share == 0 and share < SUBJECT_SHARE and pieces < SUBJECT_PIECES:
        out.append(Finding("off_subject", MESSAGES["off_subject"], f"{share:.2f}"))
    return out


def codes(title: str, text: str, reply: str) -> list[str]:
    return [f.code for f in check(title, text, reply)]


# --------------------------------------------------------------------------------------------------
# delays
# --------------------------------------------------------------------------------------------------


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def delays(pairs: Iterable[tuple[datetime | None, datetime | None]], limits: Sequence[int] = (1, 7, 15, 30, 60)
           ) -> dict:
    """Statistics of reply delays in calendar days from (asked, replied) pairs.

    Pairs with a missing time are counted as ``missing``; a reply before its question as ``negative``
    (left out of the figures)."""
    days: list[float] = []
    missing = negative = 0
    for asked, replied in pairs:
        if asked is None or replied is None:
            missing += 1
            continue
        d = (replied - asked).total_seconds() / 86400
        if d < 0:
            negative += 1
            continue
        days.append(d)
    days.sort()
    n = len(days)
    out: dict = {"count": n, "missing": missing, "negative": negative}
    if n:
        out.update({
            "mean_days": round(statistics.fmean(days), 2),
            "median_days": round(_quantile(days, 0.5), 2),
            "p25_days": round(_quantile(days, 0.25), 2),
            "p75_days": round(_quantile(days, 0.75), 2),
            "p90_days": round(_quantile(days, 0.9), 2),
            "max_days": round(days[-1], 2),
            "within": {str(k): round(sum(1 for d in days if d <= k) / n, 4) for k in limits},
        })
    return out


def records_report(records: Iterable[dict]) -> dict:
    """Delay statistics and findings over message-board records with ``title, detail, time, reply,
    reply_time``."""
    rows = list(records)
    pairs = [(_cluster.parse_time(r.get("time")), _cluster.parse_time(r.get("reply_time"))) for r in rows]
    counts: dict[str, int] = {}
    flagged = []
    for r in rows:
        found = check(r.get("title") or "", r.get("detail") or "", r.get("reply") or "")
        for f in found:
            counts[f.code] = counts.get(f.code, 0) + 1
        if found:
            flagged.append({"id": r.get("id"), "title": r.get("title"), "codes": [f.code for f in found]})
    return {"messages": len(rows), "delay": delays(pairs), "findings": counts,
            "flagged_share": round(len(flagged) / len(rows), 4) if rows else 0.0, "flagged": flagged}
