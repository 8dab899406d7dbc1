"""Hot-issue clustering (textclf.cluster): tokens, clusters, names, heat, topic matching, messages files."""

from __future__ import annotations

import json
import os
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from textclf import cluster as C

T0 = datetime(2026, 9, 1, 9)

TOPICS = {
    "noise": ("丽景花园小区旁边搅拌站夜间施工噪音扰民", "丽景花园小区附近的混凝土搅拌站每天夜里运输车来回，噪音很大，居民无法休息。"),
    "parking": ("阳光新城车位捆绑销售", "阳光新城开发商强制业主购买车位，不买车位不给交房，捆绑销售侵害业主权益。"),
    "school": ("希望在城南片区增设公办小学学位", "城南片区新建小区入住人口增长很快，公办小学学位严重不足，孩子上学要跨区。"),
}
NOISE = [
    ("路灯坏了没人修", "和平路的路灯已经坏了一个月，晚上出行很不方便。"),
    ("医保报销比例咨询", "想了解一下门诊慢特病的医保报销比例是多少。"),
    ("公交线路调整建议", "建议增开一条从火车站到开发区的公交线路。"),
    ("拖欠农民工工资", "某建筑工地拖欠二十多名农民工三个月工资。"),
    ("垃圾清运不及时", "幸福里小区垃圾站垃圾堆放多日无人清运，臭味很大。"),
]
VARIANTS = ["", "请尽快处理！", "已经反映多次了。", "希望相关部门重视。", "恳请领导关注。", "谢谢！"]


def corpus(seed: int = 0) -> tuple[list[C.Item], dict[str, str]]:
    rng = random.Random(seed)
    items, truth = [], {}
    k = 0
    for topic, (title, text) in TOPICS.items():
        for j in range(6):
            items.append(C.Item(id=f"i{k}", title=title if j % 2 == 0 else title[2:], text=text + VARIANTS[j],
                                time=T0 + timedelta(days=rng.randint(0, 29)), person=f"p{k}"))
            truth[f"i{k}"] = topic
            k += 1
    for title, text in NOISE:
        items.append(C.Item(id=f"i{k}", title=title, text=text, time=T0 + timedelta(days=rng.randint(0, 29)),
                            person=f"p{k}"))
        truth[f"i{k}"] = f"noise{k}"
        k += 1
    return items, truth


def test_words_drop_stopwords_numbers_and_place_codes():
    toks = C.words("请问A3区丽发新城附近的搅拌站2019年还在施工吗？")
    assert "搅拌站" in toks
    assert not {"请问", "的", "2019", "a3", "?", "？"} & set(toks)
    assert not any(t.startswith("区") for t in toks)  # "A3区丽发" is not glued into "区丽发"


def test_title_counts_twice():
    toks = C.item_tokens("搅拌站噪音", "夜间施工")
    assert toks.count("搅拌站") == C.TITLE_REPEAT


def test_clusters_recover_the_topics_and_leave_the_noise_out():
    items, truth = corpus()
    found = C.cluster(items, by_group=False)
    assert len(found) == len(TOPICS)
    for c in found:
        topics = {truth[i] for i in c.ids}
        assert len(topics) == 1, f"impure cluster {c.name}: {topics}"
        assert c.size == 6
        assert c.representative in c.ids
        assert 0 < c.cohesion <= 1.0001
    named = {truth[c.ids[0]]: [t for t, _ in c.key_terms] for c in found}
    assert "搅拌站" in named["noise"][:5]
    assert "捆绑" in named["parking"][:5] or "车位" in named["parking"][:5]


def test_groups_are_never_mixed():
    items, _ = corpus()
    for n, it in enumerate(items):
        it.place = "东城" if n % 2 else "西城"
    found = C.cluster(items, by_group=True)
    assert found
    for c in found:
        assert len({items[i].place for i in c.members}) == 1
        assert c.place in ("东城", "西城")


def test_a_threshold_near_one_keeps_only_identical_vectors_together():
    items, _ = corpus()
    tokens = C.tokenize_all([(it.title, it.text) for it in items])
    X, _ = C.vectorize(tokens)
    strict = C.cluster(items, by_group=False, threshold=0.999, merge_threshold=0.999, tokens=tokens)
    loose = C.cluster(items, by_group=False, tokens=tokens)
    assert sum(c.size for c in strict) < sum(c.size for c in loose)
    for c in strict:
        S = (X[c.members] @ X[c.members].T).toarray()
        assert S.min() > 0.99


def test_empty_and_tiny_inputs():
    assert C.cluster([]) == []
    assert C.cluster([C.Item(id="a", title="路灯坏了", text="和平路路灯坏了")]) == []


def test_heat_grows_with_each_factor():
    base = C.heat(5, 0.0, 5, 0, 0)
    assert C.heat(10, 0.0, 5, 0, 0) > base
    assert C.heat(5, 1.0, 5, 0, 0) > base
    assert C.heat(5, 0.0, 9, 0, 0) > base
    assert C.heat(5, 0.0, 5, 3, 0) > base
    assert C.heat(5, 0.0, 5, 0, 40) > base
    w = C.HeatWeights(likes=0.0)
    assert C.heat(5, 0.0, 5, 0, 40, w) == C.heat(5, 0.0, 5, 0, 0, w)


def test_score_counts_people_repeats_likes_and_growth():
    items = [
        C.Item(id="a", title="搅拌站噪音", text="夜间施工扰民", time=T0, person="p1", likes=3),
        C.Item(id="b", title="搅拌站噪音", text="夜间施工扰民", time=T0 + timedelta(days=28), person="p1"),
        C.Item(id="c", title="搅拌站噪音", text="夜间施工扰民", time=T0 + timedelta(days=29), person="",
               people=12, duplicates=2),
        C.Item(id="d", title="搅拌站噪音", text="夜间施工扰民", time=T0 + timedelta(days=29, hours=2), person="p2"),
    ]
    c = C.Cluster(members=[0, 1, 2, 3], ids=["a", "b", "c", "d"], size=4)
    (c,) = C.score([c], items, T0, T0 + timedelta(days=30))
    assert c.people == 1 + 12 + 1  # p1 once, a group of 12, p2
    assert c.repeats == 1 + 2  # p1 again, two merged duplicates
    assert c.likes == 3
    assert (c.recent, c.earlier) == (3, 1)
    assert c.growth > 1  # three in the last quarter of the window against one before
    assert c.heat == pytest.approx(C.heat(4, c.growth, 14, 3, 3))


def test_hot_keeps_the_window_and_ranks_by_heat():
    items, truth = corpus()
    for it in items:
        if truth[it.id] == "school":
            it.likes = 500
    top = C.hot(items, T0, T0 + timedelta(days=30), by_group=False)
    assert truth[top[0].ids[0]] == "school"
    assert [c.heat for c in top] == sorted((c.heat for c in top), reverse=True)
    later = C.hot(items, T0 + timedelta(days=40), T0 + timedelta(days=50), by_group=False)
    assert later == []


def test_matches_a_topic_by_its_key_terms():
    terms = [("搅拌站", 0.5), ("丽景", 0.3), ("噪音", 0.2)]
    assert C.matches(terms, "丽景花园搅拌站又开工了", "晚上很吵")
    assert not C.matches(terms, "路灯坏了", "和平路的路灯不亮")
    assert not C.matches(terms, "噪音", "")  # one term of three is not enough
    assert C.match_score(terms, "丽景花园搅拌站", "") == pytest.approx(0.8)
    assert not C.matches([], "搅拌站", "")


def test_items_from_records():
    recs = [{"id": "m1", "user": "U1", "title": "A3区某小区停车难", "detail": "停车位太少", "time": "2019/2/28 11:25:05",
             "likes": 4, "dislikes": 0},
            {"id": "m2", "user": "U2", "title": "咨询", "detail": "K9县的问题", "time": "2019-08-01 09:00:00"},
            {"id": "m3", "title": "无时间", "detail": ""}]
    items = C.items_from_records(recs)
    assert items[0].time == datetime(2019, 2, 28, 11, 25, 5) and items[0].place == "A3区" and items[0].likes == 4
    assert items[1].time == datetime(2019, 8, 1, 9) and items[1].place == ""
    assert items[2].time is None and items[2].person == ""


def test_as_dict_is_json():
    items, _ = corpus()
    (c, *_) = C.hot(items, by_group=False)
    d = c.as_dict()
    json.dumps(d, ensure_ascii=False)
    assert d["name"] == c.name and d["size"] == c.size


def _hot_file() -> Path:
    base = os.environ.get("MASSLINE_DATA_DIR_SHARED")
    root = Path(base) if base else Path(__file__).resolve().parents[3] / "shared" / "data"
    return root / "messages" / "hot_messages.jsonl"


@pytest.mark.skipif(not _hot_file().is_file(), reason="shared data folder with hot_messages.jsonl not found "
                                                      "(set MASSLINE_DATA_DIR_SHARED)")
def test_real_messages_top_clusters_are_the_known_hot_issues():
    with open(_hot_file(), encoding="utf-8") as f:
        items = C.items_from_records(json.loads(line) for line in f if line.strip())
    top = C.hot(items, since=datetime(2019, 1, 1), top=10, by_group=False)
    names = " ".join(t for c in top[:3] for t, _ in c.key_terms[:5])
    # the two big threads of the board: the mixing plant by 丽发新城 and the parking spaces sold with flats
    # at 伊景园滨河苑
    assert "丽发" in names and "捆绑" in names
    for c in top[:2]:
        assert c.size >= 30 and c.cohesion > 0.4
