"""The dispatcher's desk: one form for both a one-key confirmation of the suggestion and a change of units."""

from __future__ import annotations

from django import forms

from massline.directory.models import Org


def handling_units():
    """Units a demand may be dispatched to (discipline inspection only takes whistle-blowing reports, which
    never reach this desk)."""
    kinds = [k for k in Org.HANDLING_KINDS if k != Org.Kind.DISCIPLINE]
    return Org.objects.filter(active=True, kind__in=kinds).order_by("path")


class UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Org) -> str:
        return f"{obj.name}（{obj.get_kind_display()}）"


class UnitsChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Org) -> str:
        return f"{obj.name}（{obj.get_kind_display()}）"


class DispatchForm(forms.Form):
    """``source``: what the dispatcher confirmed — ``model`` (the classifier's first suggestion), ``list`` (the
    responsibility list) or ``change`` (their own choice)."""

    lead_unit = UnitChoice(label="主办单位", queryset=Org.objects.none(),
                           error_messages={"required": "请选择主办单位", "invalid_choice": "所选主办单位不存在或不能承办"})
    co_units = UnitsChoice(label="协办单位", queryset=Org.objects.none(), required=False,
                           widget=forms.SelectMultiple(attrs={"size": 6}),
                           help_text="可多选（按住 Ctrl 或 Shift）；不选则没有协办单位",
                           error_messages={"invalid_choice": "协办单位中有不存在或不能承办的单位",
                                           "invalid_pk_value": "协办单位中有不存在或不能承办的单位"})
    note = forms.CharField(label="派单说明", required=False, max_length=500,
                           widget=forms.TextInput(attrs={"placeholder": "可选，例如改派理由"}))
    source = forms.ChoiceField(choices=[("model", "模型建议"), ("list", "权责清单"), ("change", "派单员选择")],
                               initial="change", widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        units = handling_units()
        self.fields["lead_unit"].queryset = units
        self.fields["co_units"].queryset = units

    def clean(self):
        data = super().clean()
        lead = data.get("lead_unit")
        co = data.get("co_units") or []
        if lead is not None:
            data["co_units"] = [u for u in co if u.pk != lead.pk]
        data["source"] = data.get("source") or "change"
        return data
