"""The residents' pages (no login): submit a demand (photos, identity, place, the suggestion as they type),
the receipt with code and secret, tracking with the secret kept out of URLs, rating, withdrawal, and the
whistle-blowing page whose promise (only discipline inspection sees it) is checked against the policy."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import at
from massline.core import clock
from massline.core.models import Event, OutboundMessage
from massline.demands import policy, queries
from massline.demands import services as demand_services
from massline.demands.models import Attachment, Demand, Identity, State
from massline.demands.tests.test_attachments import JPEG, PNG
from massline.portal import views
from massline.routing import adapter

pytestmark = pytest.mark.django_db

T0 = at(2026, 11, 2, 9, 30)  # a Monday, working hours
LAMP = "花园社区北门的路灯坏了一个星期，晚上漆黑一片，老人出门很不方便，请尽快修好。"


@pytest.fixture(scope="module")
def city(module_city):
    return module_city


@pytest.fixture
def client():
    return Client()


def _good(city, **kw) -> dict:
    data = {"content": LAMP, "title": "", "type": "complaint", "category": "", "type_auto": "help",
            "category_auto": "", "street": city.streets[0].pk, "community": city.communities[0].pk, "grid": "",
            "address": "人民路 12 号院北门", "identity": "confidential", "name": "陈女士", "phone": "13800001234"}
    data.update(kw)
    return data


def _submit(client, city, **kw):
    with clock.frozen(T0):
        return client.post("/submit/", _good(city, **kw))


def _receipt(client) -> dict:
    return client.session[views.RECEIPT]


def _field_error(html: str, field: str) -> str:
    """The error paragraph that sits next to ``field`` (its id is the field's id + ``_error``)."""
    m = re.search(rf'<p class="field-error" id="id_{field}_error">(.*?)</p>', html, re.S)
    return m.group(1) if m else ""


def _text(response) -> str:
    return response.content.decode()


# --- home ------------------------------------------------------------------------------------------------

def test_home_speaks_to_residents(client, city):
    r = client.get("/")
    html = _text(r)
    assert r.status_code == 200
    assert "事事有着落、件件有回音" in html
    for url in ("/submit/", "/track/", "/report/"):
        assert f'href="{url}"' in html
    assert "7 个工作日" in html and "2 小时" in html  # the limits come from the deadline policies
    assert "保密" in html and "匿名" in html


# --- submit ---------------------------------------------------------------------------------------------

def test_the_form_has_a_label_for_every_field_and_explains_each_identity(client, city):
    html = _text(client.get("/submit/"))
    for field in ("content", "title", "category", "street", "community", "grid", "address", "name", "phone",
                  "photos"):
        assert f'<label for="id_{field}">' in html, field
    assert html.count('<label class="chip" for="id_type_') == 5  # no "report" here: it has its own page
    assert "办理单位能看到您的姓名和电话" in html
    assert "派单员和办理单位看不到" in html
    assert "收不到短信" in html
    assert 'value="confidential" id="id_identity_1" checked' in html  # the default protects the person
    assert 'multiple' in html and 'accept="image/*,application/pdf"' in html
    assert "cdn" not in html.lower() and "https://" not in html


def test_a_good_submission_records_the_demand_and_shows_code_and_secret(client, city):
    r = _submit(client, city)
    assert r.status_code == 302 and r["Location"] == "/submit/done/"
    receipt = _receipt(client)
    assert receipt["secret"] not in r["Location"]
    assert client.session.get_expire_at_browser_close()  # a shared computer forgets the secret
    d = Demand.objects.get(code=receipt["code"])
    assert (d.channel, d.type, d.identity, d.state) == ("web", "complaint", "confidential", State.RECEIVED)
    assert d.place == city.communities[0] and d.address == "人民路 12 号院北门"
    assert d.title == LAMP[:30] + "…" and len(d.title) == 31  # the first sentence, shortened
    assert d.person.phone == "13800001234"
    # the receipt: shown prominently, with the warning; the SMS went through the notification interface
    page = _text(client.get("/submit/done/"))
    assert f'<span class="secret" id="code">{d.code}</span>' in page
    assert f'<span class="secret" id="secret">{receipt["secret"]}</span>' in page
    assert "请马上记下或截图保存查询密码" in page and "138****1234" in page
    sms = OutboundMessage.objects.get(address="13800001234")
    assert d.code in sms.body and receipt["secret"] in sms.body


def test_a_title_is_kept_when_the_person_writes_one(client, city):
    _submit(client, city, title="北门路灯不亮")
    assert Demand.objects.get(code=_receipt(client)["code"]).title == "北门路灯不亮"


def test_photos_are_kept_with_the_demand(client, city):
    photos = [SimpleUploadedFile("门口.png", PNG, content_type="image/png"),
              SimpleUploadedFile("路灯.jpg", JPEG, content_type="image/jpeg")]
    with clock.frozen(T0):
        r = client.post("/submit/", {**_good(city), "photos": photos})
    assert r.status_code == 302
    d = Demand.objects.get(code=_receipt(client)["code"])
    assert sorted(d.attachments.values_list("content_type", flat=True)) == ["image/jpeg", "image/png"]
    assert Event.objects.filter(chain=d.chain, action="attach").count() == 2
    assert "已收到 2 个照片或材料" in _text(client.get("/submit/done/"))


def test_bad_input_is_refused_next_to_the_field_and_everything_typed_is_kept(client, city):
    fake = SimpleUploadedFile("photo.jpg", b"<html>not a picture at all</html>", content_type="image/jpeg")
    with clock.frozen(T0):
        r = client.post("/submit/", {**_good(city, content="路灯", name="", phone="", address="人民路 12 号院北门"),
                                     "photos": [fake]})
    html = _text(r)
    assert r.status_code == 400
    assert "至少 5 个字" in _field_error(html, "content")
    assert "请选择“匿名”" in _field_error(html, "phone")
    assert "不是图片" in _field_error(html, "photos")
    assert "请重新选择照片" in html  # the browser cannot refill a file input: say so
    assert 'aria-invalid="true"' in html and 'id="error-summary"' in html
    # what was typed is shown again
    assert "\n路灯</textarea>" in html and 'value="人民路 12 号院北门"' in html
    assert f'<option value="{city.communities[0].pk}" selected>' in html
    assert 'value="complaint" id="id_type_1" required checked' in html
    assert not Demand.objects.exists() and not Attachment.objects.exists()


def test_a_photo_refused_by_the_service_undoes_the_demand_and_the_files_already_kept(city, settings, tmp_path):
    from pathlib import Path

    from massline.core.errors import DomainError
    from massline.demands.intake import IntakeData
    from massline.demands.models import Channel
    from massline.portal import services

    settings.ATTACHMENT_DIR = str(tmp_path)
    data = IntakeData(channel=Channel.WEB, type="complaint", title="", content=LAMP, place_id=city.grids[0].pk,
                      identity="anonymous")
    photos = [SimpleUploadedFile("门口.png", PNG, content_type="image/png"),
              SimpleUploadedFile("假图.jpg", b"<html>not a picture</html>", content_type="image/jpeg")]
    with clock.frozen(T0), pytest.raises(DomainError) as refused:
        services.submit(data, photos)
    assert refused.value.code == "unsupported_file" and refused.value.detail == {"field": "photos"}
    assert not Demand.objects.exists() and not Attachment.objects.exists()
    assert list(Path(tmp_path).iterdir()) == []  # the first photo's file is gone with its demand


def test_a_bad_phone_number_is_refused_in_chinese(client, city):
    r = _submit(client, city, phone="call me")
    assert r.status_code == 400 and "电话号码格式不正确" in _field_error(_text(r), "phone")
    assert 'value="call me"' in _text(r)


def test_a_community_of_another_street_is_refused(client, city):
    r = _submit(client, city, street=city.streets[1].pk, community=city.communities[0].pk)
    assert r.status_code == 400
    assert "所选社区不在这个街道" in _field_error(_text(r), "community")


def test_a_refusal_of_the_service_lands_next_to_its_field(client, city, monkeypatch):
    from massline.core.errors import DomainError
    from massline.portal import services

    def refuse(data, photos, user):
        raise DomainError("invalid_field", "所选区域不存在", field="place_id")

    monkeypatch.setattr(services, "submit", refuse)
    r = _submit(client, city)
    assert r.status_code == 400 and "所选区域不存在" in _field_error(_text(r), "street")


def test_anonymous_keeps_no_name_or_phone_and_sends_no_sms(client, city):
    _submit(client, city, identity="anonymous", phone="13800009999", name="王先生")
    d = Demand.objects.get(code=_receipt(client)["code"])
    assert d.identity == Identity.ANONYMOUS and d.person is None
    assert not OutboundMessage.objects.filter(address="13800009999").exists()
    assert "不会收到短信" in _text(client.get("/submit/done/"))


def test_submitting_is_rate_limited(client, city, settings):
    settings.MASSLINE = {**settings.MASSLINE, "PUBLIC_RATE_PER_MINUTE": 1}
    assert _submit(client, city).status_code == 302
    r = _submit(client, city)
    assert r.status_code == 429 and "请求过于频繁" in _text(r)
    assert 'value="人民路 12 号院北门"' in _text(r)  # still nothing lost


def test_the_result_page_without_a_submission_goes_to_tracking(client, city):
    r = client.get("/submit/done/")
    assert r.status_code == 302 and r["Location"] == "/track/"


def test_without_javascript_the_communities_of_a_street_can_be_listed(client, city):
    r = client.post("/submit/", {**_good(city, community="", content="路灯坏了好几天了"), "refresh_place": "1"})
    html = _text(r)
    assert r.status_code == 200 and not Demand.objects.exists()
    assert all(f'value="{c.pk}"' in html for c in city.communities[:2])
    assert 'field-error' not in html and "路灯坏了好几天了" in html


# --- the chained place pickers and the suggestion as they type ------------------------------------------------

def test_the_place_pickers_follow_the_street(client, city):
    html = _text(client.post("/submit/places/", {"street": city.streets[1].pk, "community": city.communities[0].pk}))
    options = set(re.findall(r'<option value="(\d+)"', html))
    assert {str(c.pk) for c in city.communities[2:]} <= options
    assert str(city.communities[0].pk) not in options  # of the other street: dropped
    html = _text(client.post("/submit/places/", {"street": city.streets[0].pk, "community": city.communities[0].pk}))
    assert f'<option value="{city.grids[0].pk}">' in html and 'hx-post="/submit/places/"' in html
    html = _text(client.post("/submit/places/?for=report", {"street": city.streets[0].pk}))
    assert "事发社区（村）" in html and 'hx-post="/submit/places/?for=report"' in html


class FakeModel:
    version = "fake-portal-1"

    def __init__(self, label: str, score: float, others=(("未知类", 0.15), ("交通运输", 0.1))) -> None:
        self.label, self.score, self.others = label, score, list(others)

    def predict(self, title: str, detail: str) -> adapter.Guess:
        return adapter.Guess(self.label, self.score, [(self.label, self.score), *self.others])


def test_without_a_model_the_plain_picker_only(client, city, monkeypatch):
    monkeypatch.setattr(adapter, "active", lambda: None)
    html = _text(client.post("/submit/suggest/", {"content": LAMP, "type": "help", "type_auto": "help"}))
    assert "可能是" not in html and "不清楚可以不选" in html
    assert not re.search(r'<option value="\d+" selected>', html)


def test_the_model_suggests_a_category_and_plain_words_a_type(client, city, monkeypatch):
    monkeypatch.setattr(adapter, "active", lambda: FakeModel("城乡建设", 0.8))
    top = city.categories["市政设施"].parent.parent
    html = _text(client.post("/submit/suggest/", {"content": "请问小区路灯坏了归哪个部门管？", "type": "help",
                                                  "type_auto": "help", "category": "", "category_auto": ""}))
    assert f'<option value="{top.pk}" selected>城乡建设</option>' in html
    assert "可能是：城乡建设、交通运输（" in html and "未知类" not in html  # unknown to the tree, too unlikely: out
    assert 'value="enquiry" id="id_type_2" required checked' in html
    assert f'name="category_auto" value="{top.pk}"' in html


def test_the_persons_own_choice_is_never_overwritten(client, city, monkeypatch):
    monkeypatch.setattr(adapter, "active", lambda: FakeModel("城乡建设", 0.8))
    traffic = city.categories["占道停车"].parent.parent
    top = city.categories["市政设施"].parent.parent
    html = _text(client.post("/submit/suggest/", {"content": LAMP, "type": "praise", "type_auto": "help",
                                                  "category": traffic.pk, "category_auto": top.pk}))
    assert f'<option value="{traffic.pk}" selected>' in html
    assert 'value="praise" id="id_type_4" required checked' in html


def test_a_weak_guess_is_shown_but_not_chosen(client, city, monkeypatch):
    monkeypatch.setattr(adapter, "active", lambda: FakeModel("城乡建设", 0.2, [("交通运输", 0.09)]))
    html = _text(client.post("/submit/suggest/", {"content": LAMP, "type": "help", "type_auto": "help"}))
    assert not re.search(r'<option value="\d+" selected>', html)
    assert "可能是：城乡建设</span>" in html  # too unlikely to be mentioned: 交通运输


def test_the_real_classifier_suggests_through_routing_queries(city, settings, tmp_path):
    from massline.core.events import Actor
    from massline.routing import queries as routing_queries
    from massline.routing import services as routing
    from massline.routing.tests import corpus

    settings.DATA_DIR = tmp_path / "var"
    adapter.invalidate()
    try:
        assert routing_queries.suggest_categories("", corpus.CLEAR_WAGES[1]) == []  # no model yet
        data = corpus.write(tmp_path / "train.jsonl")
        clf = adapter.train(adapter.records_from(data), seed=0)
        adapter.save(clf, tmp_path / "model")
        routing.register(tmp_path / "model", Actor.system("测试"), activate_it=True, data_path=str(data))
        got = routing_queries.suggest_categories(*corpus.CLEAR_WAGES)
        assert got and got[0][0].name == "劳动和社会保障" and got[0][0].parent_id is None
        assert routing_queries.suggest_categories("", "路灯") == []  # too short to guess
    finally:
        adapter.invalidate()


# --- tracking -------------------------------------------------------------------------------------------

def _raised(client, city) -> tuple[Demand, str]:
    _submit(client, city)
    receipt = _receipt(client)
    return Demand.objects.get(code=receipt["code"]), receipt["secret"]


def _replied(city, d: Demand) -> Demand:
    u = city.users
    with clock.frozen(T0):
        demand_services.accept(d.pk, u["intake"], restatement="北门路灯坏了一周")
        demand_services.dispatch(d.pk, u["dispatcher"], lead_unit_id=city.streets[0].pk)
        demand_services.sign(d.pk, u["handler_street1"])
        demand_services.start(d.pk, u["handler_street1"])
        demand_services.add_note(d.pk, u["handler_street1"], text="内部备注：电工老周明天去，勿对外")
        demand_services.reply(d.pk, u["handler_street1"], text="已安排维修人员更换北门路灯灯泡并检修线路，现已恢复照明。")
    return Demand.objects.get(pk=d.pk)


def test_a_wrong_code_or_secret_gets_one_generic_answer(client, city):
    d, secret = _raised(Client(), city)
    answers = []
    for code, key in ((d.code, "WRONGWRONG"), ("261102XXXXXX", secret), ("", "")):
        r = client.post("/track/", {"code": code, "secret": key})
        answers.append((r.status_code, "查询码或查询密码不正确" in _text(r)))
        assert views.TRACK not in client.session
    assert answers[:2] == [(400, True), (400, True)]
    assert answers[2][0] == 400 and "此项必填" in _text(r)
    r = client.post("/track/", {"code": d.code, "secret": "WRONGWRONG"})
    assert f'value="{d.code}"' in _text(r) and "WRONGWRONG" not in _text(r)  # the code is kept, the secret not


def test_tracking_is_rate_limited(client, city, settings):
    settings.MASSLINE = {**settings.MASSLINE, "PUBLIC_RATE_PER_MINUTE": 2}
    statuses = [client.post("/track/", {"code": "261102AAAAAA", "secret": "X"}).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_the_public_timeline_shows_no_staff_notes_and_no_staff_names(client, city):
    d, secret = _raised(Client(), city)
    _replied(city, d)
    r = client.post("/track/", {"code": d.code.lower(), "secret": secret.lower()})
    assert r.status_code == 302 and r["Location"] == "/track/"  # the secret is not in the URL
    assert client.session[views.TRACK] == {"code": d.code, "secret": secret}
    html = _text(client.get("/track/"))
    assert "已答复" in html and "已安排维修人员更换北门路灯灯泡" in html
    assert "承办单位已签收" in html and "诉求已登记" in html and "东城街道" in html
    assert "内部备注" not in html and "电工老周" not in html
    for staff in ("东城街道承办人", "受理员小王", "派单员小李"):
        assert staff not in html
    assert secret not in html
    assert "评价办理结果" in html and "撤回" not in html  # replied: may rate, no longer withdraw


def test_rating_dissatisfied_reopens_and_satisfied_closes(client, city):
    d, _ = _raised(client, city)  # the submission itself keeps the demand in the session
    _replied(city, d)
    r = client.post("/track/rate/", {"resolved": "no"})
    assert r.status_code == 400 and "请选择是否满意" in _field_error(_text(r), "satisfaction")
    assert 'value="no" id="id_resolved_1" required checked' in _text(r)
    with clock.frozen(at(2026, 11, 3, 10)):
        r = client.post("/track/rate/", {"resolved": "no", "satisfaction": "dissatisfied", "comment": "灯还是不亮"})
    assert r.status_code == 302
    d.refresh_from_db()
    assert (d.state, d.resolved, d.satisfaction, d.round) == (State.REOPENED, False, "dissatisfied", 2)
    html = _text(client.get("/track/"))
    assert "感谢您的评价" in html and "已评价：未解决，不满意" in html and "评价办理结果" not in html
    assert "您的意见：灯还是不亮" in html  # their own words are shown back with the rating
    assert "诉求已重新交给承办单位办理" in html and "诉求已办结" not in html  # told what happens next
    with clock.frozen(at(2026, 11, 4, 10)):
        demand_services.sign(d.pk, city.users["handler_street1"])
        demand_services.reply(d.pk, city.users["handler_street1"], text="已更换整套灯具和线路，经夜间复查照明正常。")
        client.post("/track/rate/", {"resolved": "yes", "satisfaction": "satisfied"})
    d.refresh_from_db()
    assert (d.state, d.satisfaction) == (State.CLOSED, "satisfied")
    html = _text(client.get("/track/"))
    assert "感谢您的评价，诉求已办结" in html and "重新交给承办单位" not in html


def test_rating_when_the_state_does_not_allow_it_is_refused_in_chinese(client, city):
    _raised(client, city)
    r = client.post("/track/rate/", {"resolved": "yes", "satisfaction": "satisfied"})
    assert r.status_code == 409 and "不能回访" in _text(r)


def test_withdrawal_needs_a_confirmation(client, city):
    d, _ = _raised(client, city)
    assert "撤回诉求" in _text(client.get("/track/"))
    r = client.post("/track/withdraw/", {"reason": "已自行解决"})
    assert r.status_code == 400 and "请勾选确认" in _field_error(_text(r), "confirm")
    assert 'value="已自行解决"' in _text(r)
    r = client.post("/track/withdraw/", {"reason": "已自行解决", "confirm": "on"})
    assert r.status_code == 302
    d.refresh_from_db()
    assert d.state == State.WITHDRAWN
    ev = Event.objects.get(chain=d.chain, action="withdraw")
    assert ev.actor_role == "person" and ev.reason == "已自行解决"
    assert "已撤回" in _text(client.get("/track/"))


def test_actions_without_a_tracked_demand_go_to_the_track_form(client, city):
    r = client.post("/track/rate/", {"resolved": "yes", "satisfaction": "satisfied"})
    assert r.status_code == 302 and r["Location"] == "/track/"


def test_forgetting_removes_the_secret_from_the_session(client, city):
    _raised(client, city)
    client.post("/track/forget/")
    assert views.TRACK not in client.session and views.RECEIPT not in client.session
    assert 'name="secret"' in _text(client.get("/track/"))


# --- whistle-blowing ------------------------------------------------------------------------------------

def test_the_report_page_explains_who_will_see_it(client, city):
    html = _text(client.get("/report/"))
    assert "只有纪检监察机关" in html and "除纪检监察机关外，任何工作人员都看不到" in html
    assert 'value="anonymous" id="id_identity_2" checked' in html
    assert '<label for="id_reported_unit">' in html and '<label for="id_content">' in html


def test_a_report_from_the_page_is_seen_by_discipline_inspection_only(client, city):
    with clock.frozen(T0):
        r = client.post("/report/", {"content": "东城街道某干部在拆迁补偿中向居民索要好处费两万元。", "title": "",
                                     "reported_unit": city.streets[0].pk, "reported_person": "某科长",
                                     "street": city.streets[0].pk, "community": "", "grid": "",
                                     "identity": "anonymous", "name": "", "phone": "",
                                     "photos": [SimpleUploadedFile("收据.png", PNG, content_type="image/png")]})
    assert r.status_code == 302
    d = Demand.objects.get(code=_receipt(client)["code"])
    assert (d.type, d.identity, d.person, d.reported_unit) == ("report", "anonymous", None, city.streets[0])
    assert d.attachments.count() == 1
    for username in ("dispatcher", "intake", "handler_street1", "handler_district", "handler_city", "supervisor",
                     "leader", "admin"):
        user = city.users[username]
        assert not queries.search(user, queries.Filters(code=d.code)).exists(), username
        assert not policy.visible(user).filter(pk=d.pk).exists(), username
        assert not policy.can_see(user, d), username
    assert queries.search(city.users["discipline"], queries.Filters(code=d.code)).get() == d
    page = _text(client.get("/submit/done/"))
    assert "举报已登记" in page and "被举报的单位和街道看不到" in page
    # the reporter follows it without any unit name, even after discipline inspection took it on
    with clock.frozen(T0):
        demand_services.dispatch(d.pk, city.users["discipline"], lead_unit_id=city.units["discipline"].pk)
    html = _text(client.get("/track/"))
    assert "纪检监察机关已安排办理" in html and "纪检监察机关直接办理" in html
    assert "区纪委监委" not in html and "纪检干部" not in html and "<dt>承办单位</dt>" not in html


def test_a_bad_report_keeps_what_was_typed(client, city):
    r = client.post("/report/", {"content": "", "reported_person": "某科长", "identity": "confidential", "name": "",
                                 "phone": ""})
    html = _text(r)
    assert r.status_code == 400
    assert "请写下举报内容" in _field_error(html, "content")
    assert "请选择“匿名”" in _field_error(html, "phone")
    assert 'value="某科长"' in html and not Demand.objects.exists()
