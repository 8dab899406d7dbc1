"""Forms of the supervisor, leader and discipline desks, the return rulings and the search."""

from __future__ import annotations

from django import forms

from massline.directory.models import Org

from .models import Channel, DemandType, State
from .queries import Filters


def handling_units():
    kinds = [k for k in Org.HANDLING_KINDS if k != Org.Kind.DISCIPLINE]
    return Org.objects.filter(active=True, kind__in=kinds).order_by("path")


class UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Org) -> str:
        return f"{obj.name}（{obj.get_kind_display()}）"


class UnitsChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Org) -> str:
        return f"{obj.name}（{obj.get_kind_display()}）"


class UpholdForm(forms.Form):
    """Agree with a return and re-dispatch: to the unit chosen, else the one the returning unit suggested, else
    the responsibility list's."""

    lead_unit = UnitChoice(label="改派主办单位", queryset=Org.objects.none(), required=False,
                           empty_label="（按退单单位的建议或权责清单）",
                           error_messages={"invalid_choice": "所选主办单位不存在或不能承办"})
    co_units = UnitsChoice(label="协办单位", queryset=Org.objects.none(), required=False,
                           widget=forms.SelectMultiple(attrs={"size": 4}),
                           error_messages={"invalid_choice": "协办单位中有不存在或不能承办的单位",
                                           "invalid_pk_value": "协办单位中有不存在或不能承办的单位"})
    note = forms.CharField(label="审核意见", required=False, max_length=500)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        units = handling_units()
        self.fields["lead_unit"].queryset = units
        self.fields["co_units"].queryset = units


class NoteForm(forms.Form):
    """A note the service requires (overrule a return, urge, supervise); its length is the service's rule."""

    note = forms.CharField(label="意见", required=False, max_length=1000)


class ExtensionDecisionForm(forms.Form):
    approve = forms.TypedChoiceField(label="审批", choices=[("1", "批准"), ("0", "不批准")], coerce=lambda v: v == "1",
                                     error_messages={"required": "请选择批准或不批准",
                                                     "invalid_choice": "请选择批准或不批准"})
    note = forms.CharField(label="审批意见", required=False, max_length=1000)


def _choices(enum) -> list[tuple[str, str]]:
    return [("", "全部"), *enum.choices]


class SearchForm(forms.Form):
    code = forms.CharField(label="查询码", required=False, max_length=40)
    phone = forms.CharField(label="电话", required=False, max_length=40)
    q = forms.CharField(label="关键词", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "标题、内容或地址"}))
    unit = UnitChoice(label="主办单位", queryset=Org.objects.none(), required=False, empty_label="全部",
                      error_messages={"invalid_choice": "所选单位不存在"})
    state = forms.ChoiceField(label="状态", required=False, choices=_choices(State),
                              error_messages={"invalid_choice": "所选状态不存在"})
    type = forms.ChoiceField(label="类型", required=False, choices=_choices(DemandType),
                             error_messages={"invalid_choice": "所选类型不存在"})
    channel = forms.ChoiceField(label="渠道", required=False, choices=_choices(Channel),
                                error_messages={"invalid_choice": "所选渠道不存在"})
    date_from = forms.DateField(label="登记日期自", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                error_messages={"invalid": "日期格式应为 年-月-日"})
    date_to = forms.DateField(label="至", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                              error_messages={"invalid": "日期格式应为 年-月-日"})
    overdue = forms.ChoiceField(label="是否超期", required=False, choices=[("", "全部"), ("1", "已超期"), ("0", "未超期")])
    supervision = forms.ChoiceField(label="督办", required=False,
                                    choices=[("", "全部"), ("0", "未督办"), ("1", "督办"), ("2", "挂牌督办")])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = handling_units()

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("开始日期不能晚于结束日期", code="bad_range")
        return data

    def filters(self) -> Filters:
        c = self.cleaned_data
        return Filters(
            q=c.get("q", "").strip(), code=c.get("code", "").strip(), phone=c.get("phone", "").strip(),
            state=c.get("state", ""), type=c.get("type", ""), channel=c.get("channel", ""),
            unit_id=c["unit"].pk if c.get("unit") else None, created_from=c.get("date_from"),
            created_to=c.get("date_to"),
            overdue={"1": True, "0": False}.get(c.get("overdue", "")),
            supervision=int(c["supervision"]) if c.get("supervision") else None,
        )
