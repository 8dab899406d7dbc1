"""Public pages for residents (no login): raise a demand, follow it, rate the reply, report misconduct.

Thin views: a form parses the input, ``portal.services`` (which calls ``demands.services``) does the work, a
template shows it. A refusal is shown in Chinese next to the field it concerns and everything typed is
shown again. The tracking secret travels only in POST bodies and the server-side session, never in a URL.
"""

from __future__ import annotations

from dataclasses import asdict

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from massline.core import ratelimit
from massline.core.errors import DomainError, NotFound
from massline.demands.models import DemandType, Identity, State

from . import forms, queries, services

TRACK = "portal_track"      # session: {"code", "secret"} of the demand being followed
RECEIPT = "portal_receipt"  # session: what the result page shows once after a submission
FIELD_OF = {"title": "title", "content": "content", "category_id": "category", "place_id": "street",
            "name": "phone", "phone": "phone", "identity": "identity", "type": "type", "address": "address",
            "reported_unit_id": "reported_unit", "photos": "photos"}
SUGGEST_PER_MINUTE = 120


def _user(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


def _limit(request: HttpRequest, bucket: str, form=None) -> DomainError | None:
    """The per-address limit of the public pages; the refusal goes onto ``form`` when there is one."""
    try:
        ratelimit.check(request, bucket)
    except DomainError as err:
        if form is not None:
            form.add_error(None, err.message)
        return err
    return None


def _until_browser_closes(request: HttpRequest) -> None:
    """A visitor's session holding a secret ends with the browser (a shared computer forgets it)."""
    if not request.user.is_authenticated:
        request.session.set_expiry(0)


def _show_domain_error(form, err: DomainError) -> None:
    name = FIELD_OF.get(str(err.detail.get("field", "")))
    form.add_error(name if name in form.fields else None, err.message)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {
        "tracking": bool(request.session.get(TRACK)), "limits": queries.time_limits(),
        "callback_days": settings.MASSLINE["CALLBACK_WINDOW_DAYS"],
        "identities": [(v, label, forms.IDENTITY_HELP[Identity(v)]) for v, label in Identity.choices]})


# --- submit ---------------------------------------------------------------------------------------------

def _unbound(form_class, post, **extra):
    """A fresh form showing what was posted (for the partials and the no-JavaScript refresh)."""
    initial = {k: post.get(k) for k in post if k not in ("csrfmiddlewaretoken", "photos")}
    initial.update(extra)
    return form_class(initial=initial)


def _submit_page(request: HttpRequest, form_class, template: str, type_of) -> HttpResponse:
    user = _user(request)
    if request.method == "GET":
        initial = {"type": DemandType.HELP, "type_auto": DemandType.HELP}
        return render(request, template, _submit_context(form_class(initial=initial)))
    if "refresh_place" in request.POST:  # without JavaScript: list the communities of the chosen street
        return render(request, template, _submit_context(_unbound(form_class, request.POST)))
    form = form_class(request.POST, request.FILES)
    status = 400
    if user is None and (err := _limit(request, "submit", form)):
        status = err.status
    elif form.is_valid():
        try:
            receipt = services.submit(services.intake_data(form, type=type_of(form)), form.cleaned_data["photos"],
                                      user)
        except DomainError as err:
            _show_domain_error(form, err)
            status = err.status
        else:
            request.session[RECEIPT] = asdict(receipt)
            request.session[TRACK] = {"code": receipt.code, "secret": receipt.secret}
            _until_browser_closes(request)
            return redirect("portal:submitted")
    files_lost = bool(request.FILES.getlist("photos"))
    return render(request, template, _submit_context(form, files_lost=files_lost), status=status)


def _submit_context(form, **extra) -> dict:
    return {"form": form, "identity_help": _identity_help(form), "classifier_on": queries.classifier_on(), **extra}


def _identity_help(form) -> list[dict]:
    helps = forms.REPORT_IDENTITY_HELP if isinstance(form, forms.ReportForm) else forms.IDENTITY_HELP
    field = form["identity"]
    current = str(field.value() or "")
    return [{"value": v, "label": label, "help": helps[Identity(v)], "checked": v == current,
             "id": f"{field.auto_id}_{i}"} for i, (v, label) in enumerate(Identity.choices)]


@sensitive_variables("receipt")
@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    """The resident's form. Taps after typing the text, on a phone: the type is chosen from the words and the
    category by the classifier (both can be changed), the identity defaults to 保密; street (open + choose = 2),
    community (2), 提交诉求 (1) — five taps, plus typing a phone number or name (or one tap on 匿名 instead).
    The grid, address, title and photos are optional."""
    return _submit_page(request, forms.DemandForm, "portal/submit.html", lambda f: f.cleaned_data["type"])


@sensitive_variables("receipt")
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    return _submit_page(request, forms.ReportForm, "portal/report.html", lambda f: DemandType.REPORT)


@require_GET
def submitted(request: HttpRequest) -> HttpResponse:
    receipt = request.session.get(RECEIPT)
    if not receipt:
        return redirect("portal:track")
    return render(request, "portal/submitted.html", {"r": receipt, "is_report": receipt["type"] == DemandType.REPORT})


@require_POST
def suggest(request: HttpRequest) -> HttpResponse:
    """As the person types: the type from plain words, the category from the active classifier. A choice the
    person made themselves (it differs from the last suggestion) is never overwritten."""
    post = request.POST
    suggestion = None
    try:
        ratelimit.check(request, "suggest", SUGGEST_PER_MINUTE)
        suggestion = queries.suggest(post.get("title", ""), post.get("content", ""))
    except DomainError:
        pass  # too many: no suggestion this time; the picker still works
    extra: dict = {}
    if suggestion is not None:
        if post.get("type", "") in ("", post.get("type_auto", "")):
            extra.update(type=suggestion.type)
        extra["type_auto"] = suggestion.type
        if post.get("category", "") in ("", post.get("category_auto", "")):
            chosen = suggestion.category
            extra["category"] = chosen.pk if chosen else ""
            extra["category_auto"] = chosen.pk if chosen else ""
    form = _unbound(forms.DemandForm, post, **extra)
    return render(request, "portal/_classify.html", {
        "form": form, "suggestion": suggestion, "classifier_on": queries.classifier_on()})


@require_POST
def places(request: HttpRequest) -> HttpResponse:
    """The chained pickers street → community → grid, re-rendered after a change."""
    form_class = forms.ReportForm if request.GET.get("for") == "report" else forms.DemandForm
    form = _unbound(form_class, request.POST)
    return render(request, "portal/_place.html", {"form": form, "for_report": form_class is forms.ReportForm})


# --- follow ---------------------------------------------------------------------------------------------

def _tracked(request: HttpRequest):
    """The demand the session follows (proven by its secret when it was entered), or None."""
    held = request.session.get(TRACK)
    if not held:
        return None
    try:
        return services.find(held["code"], held["secret"])
    except NotFound:
        request.session.pop(TRACK, None)
        return None


def _track_page(request: HttpRequest, demand, *, rate_form=None, withdraw_form=None, status: int = 200):
    return render(request, "portal/track.html", {
        "t": queries.public_timeline(demand), "rate_form": rate_form or forms.RateForm(),
        "withdraw_form": withdraw_form or forms.WithdrawForm()
    }, status=status)


@sensitive_post_parameters("secret")
@sensitive_variables("secret")
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        demand = _tracked(request)
        if demand is not None:
            return _track_page(request, demand)
        return render(request, "portal/track_form.html", {"form": forms.TrackForm()})
    form = forms.TrackForm(request.POST)
    status = 400
    if err := _limit(request, "track", form):
        status = err.status
    elif form.is_valid():
        code, secret = form.cleaned_data["code"].strip().upper(), form.cleaned_data["secret"].strip().upper()
        try:
            services.find(code, secret)
        except NotFound:
            form.add_error(None, "查询码或查询密码不正确，请核对后再试")
        else:
            request.session.cycle_key()
            request.session[TRACK] = {"code": code, "secret": secret}
            _until_browser_closes(request)
            return redirect("portal:track")
    return render(request, "portal/track_form.html", {"form": form}, status=status)


def _act(request: HttpRequest, form_class, key: str, do, done) -> HttpResponse:
    """``do(code, secret, cleaned_data)`` calls the service; ``done`` is what is said when it worked (a string, or
    a function of the service's result)."""
    demand = _tracked(request)
    if demand is None:
        messages.error(request, "请先输入查询码和查询密码")
        return redirect("portal:track")
    form = form_class(request.POST)
    status = 400
    if err := _limit(request, "track", form):
        status = err.status
    elif form.is_valid():
        held = request.session[TRACK]
        try:
            result = do(held["code"], held["secret"], form.cleaned_data)
        except DomainError as err:
            form.add_error(None, err.message)
            status = err.status
            demand = _tracked(request) or demand
        else:
            messages.success(request, done(result) if callable(done) else done)
            return redirect("portal:track")
    return _track_page(request, demand, status=status, **{key: form})


@require_POST
def rate(request: HttpRequest) -> HttpResponse:
    return _act(request, forms.RateForm, "rate_form", lambda code, secret, cd: services.rate(
        code, secret, resolved=cd["resolved"], satisfaction=cd["satisfaction"], comment=cd["comment"]),
        _rated)


def _rated(d) -> str:
    """What the resident is told after rating: closed, or back with the unit for another round."""
    if d.state == State.REOPENED:
        return "感谢您的评价。诉求已重新交给承办单位办理，办好后会再次答复您。"
    return "感谢您的评价，诉求已办结。"


@require_POST
def withdraw(request: HttpRequest) -> HttpResponse:
    return _act(request, forms.WithdrawForm, "withdraw_form", lambda code, secret, cd: services.withdraw(
        code, secret, reason=cd["reason"]), "诉求已撤回。")


@require_POST
def forget(request: HttpRequest) -> HttpResponse:
    """Stop following on this device (the code and secret leave the session)."""
    request.session.pop(TRACK, None)
    request.session.pop(RECEIPT, None)
    messages.success(request, "已退出查询。再次查看请输入查询码和查询密码。")
    return redirect("portal:track")
