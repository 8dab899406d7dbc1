"""The signal rules (urgency, risk, type, similarity) on small hand-made cases, including the false alarms, and
the evaluation code's arithmetic. Fast: no data files beyond the labels in the repository."""

from __future__ import annotations

import json

import pytest

from textclf import signals as S
from textclf import signals_eval as E


def level(title: str, detail: str = "", month: int | None = None) -> str:
    return S.detect_urgency(title, detail, month=month).level


# --------------------------------------------------------------------------------------------------
# urgency
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title, detail, reason",
    [
        ("楼道里煤气味很重", "好像是502家燃气管道泄漏了，请赶快派人来处理！", "燃气泄漏"),
        ("厨房天然气漏气", "闻到很大的气味，已经关了总阀。", "燃气泄漏"),
        ("小区配电房着火了", "现在正在冒烟，火势越来越大。", "起火冒烟"),
        ("电梯里有人被困", "5栋电梯卡在8楼，里面有一位老人被困快半个小时了。", "有人被困"),
        ("菜市场有人触电", "一名摊贩刚刚触电倒在地上，请马上断电。", "有人伤病危急"),
        ("民房正在倒塌", "老街12号的土坯房墙体已经开始倒塌，里面还住着老人。", "房屋正在倒塌"),
        ("有人要跳楼", "9栋楼顶现在有一名男子站在楼顶边上。", "有人欲轻生"),
    ],
)
def test_emergencies(title, detail, reason):
    u = S.detect_urgency(title, detail)
    assert u.level == "emergency", u
    assert reason in u.reasons


@pytest.mark.parametrize(
    "title, detail, month",
    [
        ("小区停水两天了", "从前天早上开始停水，到现在还没有恢复。", 8),
        ("整栋楼停电", "7栋今天下午开始停电，至今没有来电。", 7),
        ("物业强行停水停电", "业主没交装修押金，物业强行停水停电。", 5),
        ("村里缺水", "井里没水了，家家户户每天都要出去挑水用。", 9),
        ("暖气不热", "进入十二月以来家里暖气一直不热，老人冻病了。", 12),
        ("井盖丢失", "南门人行道上的井盖丢失了，晚上很黑。", 10),
        ("电线裸露", "广场边上的电线裸露在外，下雨天还冒火花。", 6),
        ("电梯频繁困人", "这个月3栋电梯已经困人四次，上周还突然下坠。", 4),
        ("污水倒灌", "下水道堵塞，污水倒灌进一楼住户家里。", 6),
        ("承重墙开裂", "施工后我家承重墙开裂，地基也在下沉。", 5),
        ("孩子想不开", "孩子在学校被欺负，最近说有轻生的念头。", 11),
        ("自来水发黄", "这一周小区自来水发黄浑浊，不能喝。", 3),
    ],
)
def test_urgent(title, detail, month):
    u = S.detect_urgency(title, detail, month=month)
    assert u.level == "urgent", u
    assert u.reasons


@pytest.mark.parametrize(
    "title, detail",
    [
        # fires that are hazards, precautions, news or history, not fires
        ("消防通道被占", "小区消防通道被私家车占了，万一发生火灾消防车进不来。"),
        ("建议开展防火宣传", "建议社区多开展防火宣传和消防演练。"),
        ("存在火灾隐患", "楼道堆满杂物，存在严重的火灾隐患。"),
        ("看到新闻说别处着火", "看到新闻说外地一个小区起火，我们的灭火器都过期了。"),
        ("去年发生过火灾", "2018年我们楼曾经发生过火灾，现在楼道里还堆满杂物。"),
        ("工厂烟囱排浓烟", "工业园一家工厂的烟囱每天排放浓烟，气味刺鼻。"),
        ("楼下烧烤店", "楼下烧烤店油烟直排，浓烟滚滚。"),
        # outages that are over, habitual, planned, priced or hypothetical
        ("上个月停过水", "上个月我们小区停过一次水，希望以后停水提前通知。"),
        ("去年冬天停电", "去年冬天停电三天，今年请提前检修线路。"),
        ("停水通知", "请问下周的停水通知在哪里看？"),
        ("电费太贵", "今年电费涨了很多，电价是怎么定的？"),
        ("物业撤出后怎么办", "一旦物业撤出，小区随时会出现断水断电。"),
        ("台风后抢修", "昨晚台风刮断电线，供电公司连夜抢修，今早就恢复了供电，为你们点赞！"),
        ("申请安装天然气", "我们小区一直没有通天然气，请问怎样申请管道天然气入户？"),
        ("没有停电", "我们小区没有停电，只是灯光闪烁，是什么原因？"),
        # idioms and words that look like alarms
        ("政策太奇怪", "制定这个政策的人是不是脑子进水了？"),
        ("商场喇叭扰民", "商场门口天天喊跳楼价大甩卖，噪音太大。"),
        ("医疗纠纷", "2015年我女儿在学校体育课摔倒，老师未急救，导致死亡。"),
        ("电梯去年困过人", "我们小区电梯2018年困过一次人，后来更换了主板，想咨询年检周期。"),
    ],
)
def test_false_alarms_stay_normal(title, detail):
    u = S.detect_urgency(title, detail)
    assert u.level == "normal", u


def test_heating_counts_only_in_the_heating_season():
    text = ("暖气不热", "家里暖气一直不热，老人冻得受不了。")
    assert level(*text, month=1) == "urgent"
    assert level(*text, month=11) == "urgent"
    assert level(*text, month=7) == "normal"
    assert level(*text, month=None) == "urgent"  # unknown month: counted


def test_negation_is_local():
    assert level("没有停水", "我们小区没有停水，只是水压有点低。") == "normal"
    assert level("停水", "隔壁小区没有停水，我们小区从昨天停水到现在。") == "urgent"


# --------------------------------------------------------------------------------------------------
# risk
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title, detail, kinds",
    [
        ("拖欠工资", "再不解决我就去跳楼。", {"threat"}),
        ("物业打人", "逼急了我就和他们同归于尽。", {"threat"}),
        ("全体业主维权", "全体业主这周末去售楼部拉横幅，还要堵路讨说法。", {"threat", "many"}),
        ("群体性事件", "为避免再次发生群体性事件，请尽快召开听证会。", {"threat"}),
        ("去省里上访", "问题反映了三年没人管，下个月我们就去省里上访。", {"higher"}),
        ("找媒体", "再不处理，我们就找媒体曝光。", {"higher"}),
        ("要进京告状", "区里市里都不管，我准备进京告状。", {"higher"}),
        ("几十户受影响", "和平社区几十户居民家里自来水发黄。", {"many"}),
        ("拖欠工资", "公司拖欠我们120名员工三个月工资。", {"many"}),
        ("联名反映", "我们全村村民联名反映征地补偿款的问题。", {"many"}),
        ("上千人受骗", "这个平台骗了上千投资人的钱。", {"many"}),
    ],
)
def test_risk_signs(title, detail, kinds):
    r = S.detect_risk(title, detail)
    assert r.flag, r
    assert set(r.kinds) == kinds
    assert r.reasons and 0.4 <= r.score <= 1.0


@pytest.mark.parametrize(
    "title, detail",
    [
        ("没有拉横幅", "我们几个受害人去派出所了解案情，没有拉横幅、没有堵路。"),
        ("社区宣传", "社区在门口拉横幅宣传垃圾分类，分类标准是什么？"),
        ("上百亩农田被占", "村里上百亩农田被违法占用堆放渣土。"),
        ("三户居民漏水", "我们楼三户居民家里楼顶漏水，请物业维修。"),
        ("跳楼价", "商场天天喊跳楼价大甩卖。"),
        ("慢性自杀", "天天喝这样的水就是慢性自杀。"),
        ("学生心理", "因心理问题导致学生自杀事件的发生，建议配备心理老师。"),
        ("家人去世", "我儿子2012年服毒自杀身亡，医院至今不认责任。"),
        ("年轻生命", "医疗事故夺走了我老公年轻的生命。"),
        ("文件号", "根据2016年48号文件，每月20号发放工资，请问我的工资呢？"),
        ("转达", "建议您向省教育厅反映，取消这个制度。"),
    ],
)
def test_not_risk(title, detail):
    r = S.detect_risk(title, detail)
    assert not r.flag, r
    assert r.score == 0.0


def test_risk_score_adds_up_and_caps_at_one():
    one = S.detect_risk("上访", "我们去省里上访。")
    two = S.detect_risk("上访", "我们全村村民去省里上访，再不管就拉横幅堵路。")
    assert one.score == pytest.approx(0.5)
    assert two.score > one.score and two.score <= 1.0
    assert two.kinds == ["threat", "higher", "many"]


@pytest.mark.parametrize(
    "text, value",
    [
        ("300", 300),
        ("三百多", 300),
        ("几十", 30),
        ("上千", 1000),
        ("近百", 90),
        ("二十", 20),
        ("十几", 13),
        ("两万", 20000),
        ("一千二百", 1200),
        ("百", 100),
        ("abc", None),
        ("", None),
    ],
)
def test_chinese_numbers(text, value):
    assert S.chinese_number(text) == (None if value is None else pytest.approx(value))


# --------------------------------------------------------------------------------------------------
# type
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title, detail, expected",
    [
        ("咨询医保报销", "请问在外地住院的费用回来怎么报销？需要哪些材料？", "enquiry"),
        ("求助：老人无人照顾", "父亲独居，行动不便，不知道该找谁，请帮帮我们。", "help"),
        ("投诉物业乱收费", "物业每月多收停车费，还不开发票，态度恶劣。", "complaint"),
        ("举报村干部贪污", "实名举报光明村会计挪用扶贫款，请纪委调查。", "report"),
        ("建议增设公交站", "建议在和平路口增设一个公交站，方便老人出行。", "suggestion"),
        ("感谢社区网格员", "网格员冒雨找了三个小时把走失的老人送回家，特此表扬！", "praise"),
        ("噪音扰民", "楼下KTV每天营业到凌晨两点，严重扰民。", "complaint"),
        ("楼道里煤气味很重", "好像燃气管道泄漏了，请赶快派人来处理！", "help"),
    ],
)
def test_types(title, detail, expected):
    t = S.classify_type(title, detail)
    assert t.type == expected, (t.type, t.scores)
    assert 0 < t.score <= 1 and t.label == S.TYPE_LABELS[expected]


def test_without_cues_the_type_is_complaint_with_a_low_score():
    t = S.classify_type("某某事", "")
    assert t.type == "complaint" and t.score == pytest.approx(0.3)


def test_assess_bundles_the_three_signals():
    out = S.assess("楼道里煤气味很重", "燃气管道泄漏了，全楼几十户人都闻到了。", month=12)
    assert out["urgency"] == "emergency" and out["risk"] and out["risk_kinds"] == ["many"]
    assert out["type"] == "help" and out["rules_version"] == S.RULES_VERSION
    json.dumps(out, ensure_ascii=False)  # plain data, storable as an event's data


# --------------------------------------------------------------------------------------------------
# similarity
# --------------------------------------------------------------------------------------------------


def test_similarity_of_the_same_matter_and_of_different_ones():
    a = S.fingerprint(
        "和平路工地夜间施工噪音扰民", "和平路口的建筑工地每天晚上十一点以后还在施工，机器轰鸣。"
    )
    b = S.fingerprint(
        "投诉和平路工地晚上施工噪音", "和平路口建筑工地晚上十一点以后还在施工，机器轰鸣噪音太大。"
    )
    c = S.fingerprint("光明路路面坑洼", "光明路中段路面坑坑洼洼，下雨天积水严重。")
    assert S.similarity(a, a) == pytest.approx(1.0)
    assert S.similarity(a, b) == pytest.approx(S.similarity(b, a))
    assert S.similarity(a, b) >= S.DUPLICATE_THRESHOLD > S.similarity(a, c)
    assert S.similarity(a, S.fingerprint("", "")) == 0.0


def test_punctuation_and_spacing_do_not_matter():
    a = S.fingerprint("停水！！", "小区 停水，两天了。")
    b = S.fingerprint("停水", "小区停水两天了")
    assert S.similarity(a, b) == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------------
# the evaluation code
# --------------------------------------------------------------------------------------------------


def test_binary_counts_precision_and_recall():
    b = E.binary([True, True, True, False, False, False], [True, True, False, True, False, False])
    assert (b.tp, b.fp, b.fn, b.tn) == (2, 1, 1, 2)
    assert b.precision == pytest.approx(2 / 3) and b.recall == pytest.approx(2 / 3)
    assert b.f1 == pytest.approx(2 / 3)
    none = E.binary([False, False], [False, False])
    assert none.precision is None and none.recall is None and none.f1 is None
    with pytest.raises(ValueError):
        E.binary([True], [])


def test_multiclass_accuracy_per_class_and_confusion():
    gold = ["a", "a", "b", "c", "c", "c"]
    pred = ["a", "b", "b", "c", "a", "c"]
    res = E.multiclass(gold, pred, ["a", "b", "c"])
    assert res["accuracy"] == pytest.approx(4 / 6, abs=1e-3)
    assert res["confusion"] == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert res["per_class"]["a"]["precision"] == 0.5 and res["per_class"]["a"]["recall"] == 0.5
    assert res["per_class"]["b"]["precision"] == 0.5 and res["per_class"]["b"]["recall"] == 1.0
    assert res["per_class"]["c"]["precision"] == 1.0 and res["per_class"]["c"]["recall"] == pytest.approx(
        0.667
    )
    # macro-F1 over the classes present in gold: (0.5 + 0.667 + 0.8) / 3
    assert res["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0.8) / 3, abs=1e-3)


def test_evaluate_scores_rows_against_their_labels():
    rows = [
        {
            "id": "1",
            "title": "楼道里煤气味很重",
            "detail": "燃气泄漏了",
            "type": "help",
            "urgency": "emergency",
            "risk": False,
        },
        {
            "id": "2",
            "title": "小区路灯不亮",
            "detail": "请维修",
            "type": "help",
            "urgency": "normal",
            "risk": False,
        },
        {
            "id": "3",
            "title": "去省里上访",
            "detail": "我们全村去省里上访",
            "type": None,
            "urgency": None,
            "risk": True,
            "risk_kinds": ["higher", "many"],
        },
    ]
    res = E.evaluate(rows, errors=5)
    assert res["type"]["n"] == 2 and res["urgency"]["n"] == 2 and res["risk"]["n"] == 3
    assert res["urgency"]["emergency"]["tp"] == 1 and res["urgency"]["emergency"]["fp"] == 0
    assert res["risk"]["flag"]["tp"] == 1 and res["risk"]["flag"]["fp"] == 0
    assert res["risk"]["kinds"]["higher"]["tp"] == 1


def test_month_of_time_stamps():
    assert E.month_of("2019/8/7 20:28:05") == 8
    assert E.month_of("2019-12") == 12
    assert E.month_of("") is None and E.month_of(None) is None and E.month_of("昨天") is None


def test_attach_texts_reports_missing_ids():
    rows, missing = E.attach_texts(
        [{"id": "a"}, {"id": "b"}], {"a": {"title": "t", "detail": "d", "month": 1}}
    )
    assert rows == [{"id": "a", "title": "t", "detail": "d", "month": 1}] and missing == ["b"]


def test_evaluate_pairs_at_the_chosen_threshold():
    texts = {
        "x": {"title": "和平路工地夜间施工噪音扰民", "detail": "晚上十一点以后还在施工"},
        "y": {"title": "和平路工地晚上施工噪音扰民", "detail": "十一点以后还在施工"},
        "z": {"title": "光明路路面坑洼", "detail": "下雨天积水严重"},
    }
    pairs = [
        {"a": "x", "b": "y", "same": True},
        {"a": "x", "b": "z", "same": False},
        {"a": "x", "b": "q", "same": True},
    ]
    res = E.evaluate_pairs(pairs, texts)
    assert res["n"] == 2  # the pair with an unknown id is skipped
    assert res["at_threshold"]["tp"] == 1 and res["at_threshold"]["fp"] == 0


# --------------------------------------------------------------------------------------------------
# the label files
# --------------------------------------------------------------------------------------------------


def test_real_labels_hold_ids_and_labels_only():
    rows = E.read_jsonl(E.REAL)
    assert len(rows) >= 900
    allowed = {"id", "source", "sample", "split", "type", "urgency", "risk", "risk_kinds"}
    for r in rows:
        assert set(r) <= allowed, r  # never the competition's texts
        assert r["type"] in (None, *S.TYPES)
        assert r["urgency"] in (None, *S.LEVELS)
        assert r["risk"] in (None, True, False)
        assert set(r["risk_kinds"]) <= set(S.RISK_KINDS) and bool(r["risk_kinds"]) == bool(r["risk"])
    assert len({r["id"] for r in rows}) == len(rows)
    random_typed = [r for r in rows if r["sample"] == "random" and r["type"]]
    assert len(random_typed) >= 300


def test_pair_labels_hold_ids_only():
    for p in E.read_jsonl(E.PAIRS):
        assert set(p) == {"a", "b", "same", "split"}
        assert isinstance(p["same"], bool) and p["split"] in ("dev", "test")


def test_synthetic_examples_are_what_their_labels_say():
    """The hand-written examples are a regression check: every emergency and every false alarm there holds."""
    rows = E.read_jsonl(E.SYNTHETIC)
    assert rows and all(r["id"].startswith("syn-") for r in rows)
    res = E.evaluate([{**r, "detail": r.get("detail", "")} for r in rows])
    assert res["urgency"]["emergency"]["recall"] == 1.0 and res["urgency"]["emergency"]["precision"] == 1.0
    assert res["risk"]["flag"]["recall"] == 1.0 and res["risk"]["flag"]["precision"] == 1.0


@pytest.mark.skipif(not E.data_dir().is_dir(), reason="shared data folder not found (set SIGNALS_DATA_DIR)")
def test_every_labelled_id_is_in_the_shared_data():
    real = E.read_jsonl(E.REAL)
    texts = E.load_texts(E.data_dir(), (r["id"] for r in real))
    _, missing = E.attach_texts(real, texts)
    assert missing == []
