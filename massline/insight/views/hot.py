"""Pages of insight: hot issues and governance topics.

- ``insight:hot`` — ``/insight/hot/?since=&until=&street=&category=``: the hottest clusters of similar demands in
  a window (default: the last 30 days), with heat, key terms, the representative demand, sizes and growth;
  leaders and administrators turn a cluster into a topic (每月一题 / 未诉先办) from here.
- ``insight:topics`` / ``insight:topic_detail`` — the topics: owner, plan, deadline, linked demands, effect
  (matching demands before vs after); leaders and administrators change a topic's state.

Roles: leader, supervisor and administrator see (within their scope); leader and administrator decide.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as dtime

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from massline.core import clock
from massline.core.errors import DomainError
from massline.core.pages import domain_error_response, paginate, query_without_page
from massline.directory.models import Category, Org, Role
from massline.directory.pages import staff_page
from massline.insight import hot
from massline.insight.models.hot import GovernanceTopic

VIEW = (Role.LEADER, Role.SUPERVISOR, Role.ADMIN)
DECIDE = (Role.LEADER, Role.ADMIN)
DEFAULT_DAYS = 30


# --- forms ------------------------------------------------------------------------------------------


class OrgChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Org) -> str:
        return f"{'　' * max(0, obj.depth - 1)}{obj.name}（{obj.get_kind_display()}）"


class StaffChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


def _staff():
    """Users who hold a staff role somewhere (the person answerable for a topic)."""
    return get_user_model().objects.filter(
        roles__active=True, roles__role__in=[r for r in Role.values if r != Role.CITIZEN]).distinct().order_by(
        "username")


class WindowForm(forms.Form):
    since = forms.DateField(label="起始日期", required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    until = forms.DateField(label="截止日期（含）", required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    street = OrgChoice(label="街道", required=False, empty_label="全部",
                       queryset=Org.objects.filter(kind__in=(Org.Kind.STREET, Org.Kind.TOWNSHIP), active=True))
    category = forms.ModelChoiceField(label="分类", required=False, empty_label="全部",
                                      queryset=Category.objects.filter(level=1, active=True))

    def clean(self):
        data = super().clean()
        today = timezone.localtime(clock.now()).date()
        until = data.get("until") or today
        since = data.get("since") or until - timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            self.add_error("since", "起始日期不能晚于截止日期")
        data["since_dt"] = timezone.make_aware(datetime.combine(since, dtime.min))
        data["until_dt"] = timezone.make_aware(datetime.combine(until + timedelta(days=1), dtime.min))
        data["since"], data["until"] = since, until
        return data


class TopicForm(WindowForm):
    demand = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(label="专题题目", max_length=200)
    kind = forms.ChoiceField(label="类型", choices=GovernanceTopic.Kind.choices, widget=forms.RadioSelect,
                             initial=GovernanceTopic.Kind.MONTHLY)
    owner_org = OrgChoice(label="牵头单位", queryset=Org.objects.filter(
        active=True, kind__in=[k for k in Org.HANDLING_KINDS if k not in ("grid", "discipline")]))
    owner_user = StaffChoice(label="责任人", required=False, empty_label="（不指定）", queryset=_staff())
    plan = forms.CharField(label="工作方案", max_length=4000, widget=forms.Textarea(attrs={"rows": 4}),
                           help_text="措施、步骤、责任分工")
    deadline = forms.DateField(label="完成时限", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("since", "until", "street", "category"):  # the window of the page, carried along
            self.fields[name].widget = forms.HiddenInput()


class StateForm(forms.Form):
    state = forms.ChoiceField(label="状态", choices=GovernanceTopic.State.choices)
    note = forms.CharField(label="说明", required=False, max_length=500)


# --- hot issues ---------------------------------------------------------------------------------------


def _window(request: HttpRequest) -> WindowForm:
    form = WindowForm(request.GET or None)
    if not form.is_bound:
        form = WindowForm({})
    return form


@require_GET
@staff_page(*VIEW)
def hot_page(request: HttpRequest) -> HttpResponse:
    form = _window(request)
    found, error = [], None
    if form.is_valid():
        d = form.cleaned_data
        try:
            found = hot.clusters(request.user, d["since_dt"], d["until_dt"], street=d["street"],
                                 category=d["category"], top=20)
        except DomainError as err:
            error = err
    can_decide = hot.may_decide(request.user, None) or any(
        hot.may_decide(request.user, c.street) for c in found)
    rows = []
    for c in found:
        tf = None
        if can_decide and hot.may_decide(request.user, c.street):
            tf = TopicForm(prefix=f"c{c.cluster.representative}", initial={
                "demand": c.cluster.representative, "title": c.cluster.representative_title[:200],
                "since": form.cleaned_data["since"], "until": form.cleaned_data["until"],
                "street": form.cleaned_data["street"], "category": form.cleaned_data["category"],
                "owner_org": c.street, "deadline": form.cleaned_data["until"] + timedelta(days=30)})
        rows.append({"c": c, "form": tf})
    return render(request, "insight/hot/hot.html", {"form": form, "rows": rows, "error": error,
                                                    "can_decide": can_decide})


@require_POST
@staff_page(*DECIDE)
def topic_create(request: HttpRequest) -> HttpResponse:
    prefix = request.POST.get("prefix", "")
    form = TopicForm(request.POST, prefix=prefix or None)
    if not form.is_valid():
        msg = "；".join(f"{form.fields[k].label if k in form.fields else ''}：{'，'.join(v)}".lstrip("：")
                       for k, v in form.errors.items())
        return _refusal(request, DomainError("invalid_form", msg or "表单有误"), "insight:hot")
    d = form.cleaned_data
    try:
        topic = hot.create_topic(request.user, since=d["since_dt"], until=d["until_dt"], demand_id=d["demand"],
                                 title=d["title"], kind=d["kind"], owner_org=d["owner_org"], plan=d["plan"],
                                 deadline=d["deadline"], owner_user=d["owner_user"], street=d["street"],
                                 category=d["category"])
    except DomainError as err:
        return _refusal(request, err, "insight:hot")
    url = reverse("insight:topic_detail", args=[topic.pk])
    text = f"已设为{topic.get_kind_display()}专题，关联诉求 {topic.links.count()} 件"
    if request.htmx:
        return render(request, "insight/hot/_created.html", {"topic": topic, "url": url, "message": text})
    messages.success(request, text)
    return redirect(url)


def _refusal(request: HttpRequest, err: DomainError, back: str, *args) -> HttpResponse:
    if request.htmx:
        return domain_error_response(request, err)
    if err.status in (403, 404):
        return domain_error_response(request, err, "core/refused.html")
    messages.error(request, err.message)
    return redirect(reverse(back, args=args) + ("?" + request.POST.get("back_qs", "") if request.POST.get("back_qs")
                                                else ""))


# --- topics -----------------------------------------------------------------------------------------


@require_GET
@staff_page(*VIEW)
def topics(request: HttpRequest) -> HttpResponse:
    qs = hot.visible_topics(request.user).select_related("owner_org", "area", "category")
    state = request.GET.get("state", "")
    if state in GovernanceTopic.State.values:
        qs = qs.filter(state=state)
    return render(request, "insight/hot/topics.html", {
        "page": paginate(request, qs), "qs": query_without_page(request), "state": state,
        "states": GovernanceTopic.State.choices, "today": timezone.localtime(clock.now()).date()})


def _detail_context(request: HttpRequest, topic: GovernanceTopic, **extra) -> dict:
    return {"t": topic, "effect": hot.effect(topic), "page": paginate(request, hot.linked_demands(request.user, topic)),
            "qs": query_without_page(request), "state_form": StateForm(initial={"state": topic.state}),
            "can_decide": hot.may_decide(request.user, topic.area),
            "today": timezone.localtime(clock.now()).date(), **extra}


@require_GET
@staff_page(*VIEW)
def topic_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        topic = hot.get_topic(request.user, pk)
    except DomainError as err:
        return domain_error_response(request, err, "core/refused.html")
    return render(request, "insight/hot/topic.html", _detail_context(request, topic))


@require_POST
@staff_page(*DECIDE)
def topic_state(request: HttpRequest, pk: int) -> HttpResponse:
    form = StateForm(request.POST)
    if not form.is_valid():
        return _refusal(request, DomainError("invalid_form", "请选择状态"), "insight:topic_detail", pk)
    try:
        topic = hot.set_state(request.user, pk, form.cleaned_data["state"], form.cleaned_data["note"])
    except DomainError as err:
        return _refusal(request, err, "insight:topic_detail", pk)
    text = f"专题状态已改为“{topic.get_state_display()}”"
    if request.htmx:
        return render(request, "core/_result.html", {"ok": True, "message": text})
    messages.success(request, text)
    return redirect("insight:topic_detail", pk=pk)


urlpatterns = [
    path("hot/", hot_page, name="hot"),
    path("hot/topic/", topic_create, name="topic_create"),
    path("topics/", topics, name="topics"),
    path("topics/<int:pk>/", topic_detail, name="topic_detail"),
    path("topics/<int:pk>/state/", topic_state, name="topic_state"),
]
