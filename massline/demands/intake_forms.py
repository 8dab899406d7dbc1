"""Forms of the intake operator's desk and of the group-visit flow. They only parse what was typed: every rule
about a demand stays in ``intake.validate`` and ``services`` (a refusal from there is put back next to its field
with ``add_domain_error``)."""

from __future__ import annotations

import re

from django import forms
from django.urls import reverse

from massline.core.errors import DomainError
from massline.directory.access import grants
from massline.directory.models import Category, Org, Role

from .intake import MAX_CONTENT, MAX_TITLE, IntakeData
from .models import Channel, DemandType, GroupVisit, Identity, Urgency

# the channels an operator records at this desk; "group" only from a group visit's form step
DESK_CHANNELS = [Channel.HOTLINE, Channel.LETTER, Channel.VISIT, Channel.RECEPTION, Channel.DOOR, Channel.BOX,
                 Channel.AGENT]
TITLE_FROM_CONTENT = 30
# a service's field name → the form's
FIELD_NAMES = {"category_id": "category", "place_id": "place", "group_visit_id": "group_visit", "text": "answer",
               "latitude": "address", "longitude": "address", "reported_unit_id": "reported_person",
               "representatives": "people"}
_SENTENCE_END = re.compile(r"[。！？!?\n；;]")


def add_domain_error(form: forms.Form, err: DomainError) -> None:
    """Put a service's refusal next to the field it names (or above the form)."""
    name = err.detail.get("field")
    name = FIELD_NAMES.get(name, name)
    form.add_error(name if name in form.fields else None, err.message)


def title_from(content: str) -> str:
    """A title when the operator gave none: the first sentence of the demand, shortened."""
    first = _SENTENCE_END.split(content.strip(), maxsplit=1)[0].strip()
    if len(first) > TITLE_FROM_CONTENT:
        first = first[:TITLE_FROM_CONTENT] + "…"
    return first


def area_choices(user) -> list[tuple[str, str]]:
    """The areas (district → grid) where the operator takes demands, indented by level."""
    scopes = [g.scope_path for g in grants(user) if g.role in (Role.INTAKE, Role.DISPATCHER, Role.DISCIPLINE,
                                                                Role.LEADER, Role.ADMIN)]
    qs = Org.objects.filter(active=True, kind__in=Org.AREA_KINDS).order_by("path")
    if "" not in scopes:
        rows = [o for o in qs if any(o.path.startswith(p) for p in scopes)]
    else:
        rows = list(qs)
    top = min((o.depth for o in rows), default=0)
    return [("", "（未指定，由派单员确定）")] + [
        (str(o.pk), "　" * (o.depth - top) + f"{o.name}（{o.get_kind_display()}）") for o in rows
    ]


def category_choices() -> list[tuple[str, str]]:
    return [("", "（未分类，由派单员确定）")] + [
        (str(pk), name) for pk, name in Category.objects.filter(active=True).order_by("full_name")
        .values_list("pk", "full_name")
    ]


class IntakeForm(forms.Form):
    """One demand as the operator hears it: the caller first (so earlier demands show), then the demand, then the
    operator's restatement, then what is optional. Anything after the restatement may be left as it is."""

    phone = forms.CharField(label="来电号码", required=False, max_length=20,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off",
                                                          "inputmode": "tel", "accesskey": "t"}))
    name = forms.CharField(label="诉求人姓名", required=False, max_length=60,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))
    identity = forms.ChoiceField(label="身份公开方式", choices=Identity.choices, initial=Identity.NAMED,
                                 widget=forms.RadioSelect)
    type = forms.ChoiceField(label="诉求类型", choices=DemandType.choices, widget=forms.RadioSelect,
                             error_messages={"required": "请选择诉求类型"})
    content = forms.CharField(label="诉求内容", max_length=MAX_CONTENT,
                              widget=forms.Textarea(attrs={"rows": 4, "accesskey": "n"}),
                              error_messages={"required": "请记录群众反映的诉求内容"})
    restatement = forms.CharField(label="受理复述", required=False, max_length=MAX_CONTENT,
                                  widget=forms.Textarea(attrs={"rows": 2, "accesskey": "r"}))
    place = forms.TypedChoiceField(label="所在区域（网格）", required=False, coerce=int, empty_value=None,
                                   widget=forms.Select(attrs={"accesskey": "g"}))
    address = forms.CharField(label="详细地址", required=False, max_length=255)
    category = forms.TypedChoiceField(label="诉求分类", required=False, coerce=int, empty_value=None)
    urgency = forms.ChoiceField(label="紧急程度", choices=Urgency.choices, initial=Urgency.NORMAL)
    channel = forms.ChoiceField(label="受理渠道", widget=forms.Select(attrs={"accesskey": "c"}))
    title = forms.CharField(label="标题", required=False, max_length=MAX_TITLE)
    agent_name = forms.CharField(label="代理人姓名", required=False, max_length=60)
    agent_phone = forms.CharField(label="代理人电话", required=False, max_length=20,
                                  widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}))
    reported_person = forms.CharField(label="被举报人", required=False, max_length=100)
    answer = forms.CharField(label="当场答复内容", required=False, max_length=MAX_CONTENT,
                             widget=forms.Textarea(attrs={"rows": 3, "accesskey": "a"}))
    group_visit = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, widget=forms.HiddenInput)

    def __init__(self, *args, user=None, group_visit: GroupVisit | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.group_visit_obj = group_visit
        channels = list(DESK_CHANNELS)
        if group_visit is not None:
            channels = [Channel.GROUP, *channels]
            self.fields["group_visit"].choices = [(str(group_visit.pk), str(group_visit.pk))]
            self.fields["channel"].initial = Channel.GROUP
        else:
            self.fields["group_visit"].choices = [("", "")]
            self.fields["channel"].initial = Channel.HOTLINE
        self.fields["channel"].choices = [(c.value, c.label) for c in channels]
        self.fields["place"].choices = area_choices(user)
        self.fields["category"].choices = category_choices()
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.RadioSelect | forms.HiddenInput):
                continue
            field.widget.attrs.setdefault("aria-describedby", f"hint_{name}")
        # the caller's earlier demands appear as the number is typed (only the number is sent)
        self.fields["phone"].widget.attrs.update({
            "autofocus": True, "hx-get": reverse("demands:intake_earlier"), "hx-params": "phone",
            "hx-trigger": "input changed delay:300ms, search", "hx-target": "#earlier", "hx-swap": "innerHTML",
            "hx-sync": "this:replace",
        })

    def clean_phone(self) -> str:
        return re.sub(r"[\s()（）]", "", self.cleaned_data.get("phone", ""))

    def clean_agent_phone(self) -> str:
        return re.sub(r"[\s()（）]", "", self.cleaned_data.get("agent_phone", ""))

    def clean(self) -> dict:
        data = super().clean()
        if data.get("content") and not data.get("title"):
            data["title"] = title_from(data["content"])
        return data

    def mark_errors(self) -> None:
        """Fields with an error say so to assistive technology, and point at the message."""
        first = True
        for name in self.fields:  # in the order of the form, so the cursor goes to the first field to correct
            if name not in self.errors:
                continue
            attrs = self.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"err_{name} hint_{name}"
            if first:
                self.fields["phone"].widget.attrs.pop("autofocus", None)
                attrs["autofocus"] = True
                first = False

    def intake_data(self) -> IntakeData:
        c = self.cleaned_data
        return IntakeData(
            channel=c["channel"], type=c["type"], title=c["title"], content=c["content"], category_id=c["category"],
            urgency=c["urgency"], identity=c["identity"], place_id=c["place"], address=c["address"],
            name=c["name"], phone=c["phone"], agent_name=c["agent_name"], agent_phone=c["agent_phone"],
            group_visit_id=c["group_visit"], reported_person=c["reported_person"] if c["type"] == "report" else "",
            restatement=c["restatement"],
        )


# --- group visits ----------------------------------------------------------------------------------

class OpenGroupVisitForm(forms.Form):
    topic = forms.CharField(label="来访事由", max_length=200, error_messages={"required": "请填写来访事由"})
    headcount = forms.IntegerField(label="来访人数", min_value=1, max_value=100000,
                                   error_messages={"required": "请填写来访人数", "invalid": "请填写整数人数",
                                                   "min_value": "人数至少为 1"})
    place = forms.TypedChoiceField(label="所在区域", required=False, coerce=int, empty_value=None)

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = area_choices(user)
        self.fields["place"].choices[0] = ("", "（未指定）")


_PHONE = re.compile(r"^\+?[\d-]{6,20}$")


def parse_people(text: str) -> list[dict]:
    """One representative a line: "姓名 电话" (either may be missing; separated by spaces, commas or 、)."""
    people = []
    for line in text.splitlines():
        parts = [p for p in re.split(r"[\s,，、;；]+", line.strip()) if p]
        if not parts:
            continue
        phone = next((p for p in parts if _PHONE.match(p)), "")
        name = "".join(p for p in parts if p != phone)
        people.append({"name": name[:60], "phone": phone})
    return people


class RepresentativesForm(forms.Form):
    people = forms.CharField(label="推选的代表（每行一位：姓名 电话）", widget=forms.Textarea(attrs={"rows": 5}),
                             error_messages={"required": "请填写推选的代表"})

    def representatives(self) -> list[dict]:
        return parse_people(self.cleaned_data["people"])


class MinutesForm(forms.Form):
    minutes = forms.CharField(label="谈话记录", widget=forms.Textarea(attrs={"rows": 5}),
                              error_messages={"required": "请记录谈话内容"})


class GoalsForm(forms.Form):
    goals = forms.CharField(label="商定的目标", widget=forms.Textarea(attrs={"rows": 4}),
                            error_messages={"required": "请写明商定的目标"})
