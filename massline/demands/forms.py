"""The forms of the demand page's actions (one per workflow action) and the handler's desk.

The forms only parse input; every rule (state, role, scope, reply quality, …) is the services'. Each form
is rendered with ``prefix`` = its action, so the ids of the many forms on one page never clash.
"""

from __future__ import annotations

from django import forms

from massline.directory.models import Category, Org

from .models import Satisfaction


def _text(label: str, *, required: bool = True, rows: int = 3, help_text: str = "", max_length: int = 4000):
    return forms.CharField(label=label, required=required, max_length=max_length, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": rows}))


def _line(label: str, *, required: bool = True, help_text: str = "", max_length: int = 200):
    return forms.CharField(label=label, required=required, max_length=max_length, help_text=help_text)


def handling_units():
    """Units a demand may be sent to from the demand page (grids and discipline inspection left out: the
    dispatcher's desk has the full routing)."""
    kinds = [k for k in Org.HANDLING_KINDS if k not in ("grid", "discipline")]
    return Org.objects.filter(active=True, kind__in=kinds).order_by("path")


class UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Org) -> str:
        return f"{'　' * max(0, obj.depth - 1)}{obj.name}（{obj.get_kind_display()}）"


class UnitMultiChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Org) -> str:
        return f"{obj.name}（{obj.get_kind_display()}）"


class ActionForm(forms.Form):
    """Base: ``kwargs()`` are the keyword arguments of the service call."""

    def kwargs(self) -> dict:
        return dict(self.cleaned_data)


class EmptyForm(ActionForm):
    pass


class AcceptForm(ActionForm):
    restatement = _text("受理复述", required=False, help_text="用自己的话复述群众的诉求，确认理解无误（先听后答）")
    category = forms.ModelChoiceField(label="更正分类", required=False, empty_label="（不改）",
                                      queryset=Category.objects.filter(active=True))

    def kwargs(self) -> dict:
        c = self.cleaned_data
        return {"restatement": c["restatement"], "category_id": c["category"].pk if c["category"] else None}


class ReasonForm(ActionForm):
    reason = _text("理由")


class WithdrawForm(ActionForm):
    reason = _text("撤回原因", help_text="代群众撤回须记录群众撤回的原因")


class RejectForm(ActionForm):
    reason = _text("不予受理理由")


class SuspendForm(ActionForm):
    reason = _text("挂起理由", help_text="例如：等待诉求人补充材料。挂起期间时限暂停")


class CertifyCloseForm(ActionForm):
    reason = _text("审核办结理由")
    exclude = forms.BooleanField(label="不计入承办单位考核", required=False)


class NoteForm(ActionForm):
    note = _text("说明", required=False, rows=2)


class RequiredNoteForm(ActionForm):
    note = _text("要求", rows=2)


class OverruleForm(ActionForm):
    note = _text("驳回理由", rows=2)


class TextForm(ActionForm):
    text = _text("内容")


class AnswerDirectlyForm(ActionForm):
    restatement = _text("受理复述", required=False, help_text="已复述过的可不填")
    text = _text("答复内容", rows=5)
    public = forms.BooleanField(label="答复可公开", required=False, initial=True)


class ReplyForm(ActionForm):
    text = _text("答复内容", rows=6, help_text="写明办理结果或明确解答；只写“已转相关部门”不算答复")
    public = forms.BooleanField(label="答复可公开（公开时隐去个人信息）", required=False, initial=True)


class DispatchForm(ActionForm):
    lead_unit = UnitChoice(label="主办单位", required=False, queryset=Org.objects.none(),
                           empty_label="按权责清单自动确定")
    co_units = UnitMultiChoice(label="协办单位", required=False, queryset=Org.objects.none(),
                               help_text="可多选（按住 Ctrl 点选）；不选则按权责清单",
                               widget=forms.SelectMultiple(attrs={"size": 4}))
    note = _text("派单说明", required=False, rows=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_unit"].queryset = handling_units()
        self.fields["co_units"].queryset = handling_units()

    def kwargs(self) -> dict:
        c = self.cleaned_data
        return {"lead_unit_id": c["lead_unit"].pk if c["lead_unit"] else None,
                "co_unit_ids": [u.pk for u in c["co_units"]] or None, "note": c["note"]}


class UpholdReturnForm(DispatchForm):
    lead_unit = UnitChoice(label="改派单位", required=False, queryset=Org.objects.none(),
                           empty_label="按退单建议或权责清单")
    note = _text("审核意见", required=False, rows=2)


class ReturnForm(ActionForm):
    reason = _text("退单理由")
    cited_item = _line("所引权责清单事项", help_text="说明依据权责清单哪一事项本单位不负责")
    suggested_unit = UnitChoice(label="建议承办单位", required=False, queryset=Org.objects.none(),
                                empty_label="（不建议）")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["suggested_unit"].queryset = handling_units()

    def kwargs(self) -> dict:
        c = self.cleaned_data
        return {"reason": c["reason"], "cited_item": c["cited_item"],
                "suggested_unit_id": c["suggested_unit"].pk if c["suggested_unit"] else None}


class ExtensionForm(ActionForm):
    working_days = forms.IntegerField(label="延期工作日数", min_value=1, max_value=60, initial=5)
    reason = _text("延期理由")


class ExtensionDecisionForm(ActionForm):
    approve = forms.TypedChoiceField(label="审批结果", choices=[("1", "批准延期"), ("0", "不批准")],
                                     coerce=lambda v: v == "1", widget=forms.RadioSelect, initial="1")
    note = _text("审批意见", required=False, rows=2, help_text="不批准须写明理由")


class CallbackForm(ActionForm):
    resolved = forms.TypedChoiceField(label="问题是否解决", choices=[("1", "已解决"), ("0", "未解决")],
                                      coerce=lambda v: v == "1", widget=forms.RadioSelect)
    satisfaction = forms.ChoiceField(label="满意度", choices=Satisfaction.choices, widget=forms.RadioSelect)
    comment = _text("群众意见", required=False, rows=2)


class MergeForm(ActionForm):
    into = _line("主诉求编号", max_length=20, help_text="把本诉求合并到该编号的诉求，群众将收到主诉求的答复")
    note = _text("说明", required=False, rows=2)

    def kwargs(self) -> dict:
        # the view turns the code into ``into_id`` (only among the demands the user sees)
        return {"into": self.cleaned_data["into"].strip().upper(), "note": self.cleaned_data["note"]}


class SuperviseForm(ActionForm):
    note = _text("督办要求", rows=2)


