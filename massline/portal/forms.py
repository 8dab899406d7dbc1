"""The residents' forms. Every message is Chinese and sits next to its field; a bound form keeps what was
typed (file inputs cannot be refilled by a browser: the page says so)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.urls import reverse

from massline.demands import attachments
from massline.demands.intake import MAX_CONTENT, MAX_TITLE
from massline.demands.models import DemandType, Identity, Satisfaction

from . import queries

PUBLIC_TYPES = [(t.value, t.label) for t in (DemandType.HELP, DemandType.COMPLAINT, DemandType.ENQUIRY,
                                             DemandType.SUGGESTION, DemandType.PRAISE)]
# one plain sentence each (what demands.policy does with the identity)
IDENTITY_HELP = {
    Identity.NAMED: "办理单位能看到您的姓名和电话，可以直接联系您、上门核实。",
    Identity.CONFIDENTIAL: "只有受理员、督办员和纪检监察人员能看到您的姓名和电话；派单员和办理单位看不到，"
                           "需要联系您时由受理员转达。",
    Identity.ANONYMOUS: "不留姓名和电话，谁也不知道是您提交的；但收不到短信，工作人员也无法联系您核实，"
                        "只能凭查询码和查询密码自己查看进度。",
}
REPORT_IDENTITY_HELP = {
    Identity.NAMED: "纪检监察机关能看到您的姓名和电话，便于核实和反馈；被举报的单位和街道看不到。",
    Identity.CONFIDENTIAL: "只有纪检监察机关能看到您的姓名和电话，并为您保密；被举报的单位和街道看不到。",
    Identity.ANONYMOUS: "不留姓名和电话，谁也不知道是您；纪检监察机关无法联系您核实，您可凭查询码和查询密码查看进度。",
}
REQUIRED = "此项必填"


class FieldErrorsMixin:
    """Fields with an error get ``aria-invalid`` and point to their message (screen readers read both)."""

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                ids = [f"{self[name].auto_id}_error"]
                if self.fields[name].help_text:
                    ids.append(f"{self[name].auto_id}_helptext")
                attrs["aria-describedby"] = " ".join(ids)


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several images or PDFs, checked as ``demands.attachments.store`` checks them (by content, size, count)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,application/pdf", "multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > attachments.MAX_PER_DEMAND:
            raise forms.ValidationError(f"最多上传 {attachments.MAX_PER_DEMAND} 个文件")
        cap = settings.MAX_UPLOAD_MB * 1024 * 1024
        for f in files:
            if f.size == 0:
                raise forms.ValidationError(f"“{f.name}”是空文件")
            if f.size > cap:
                raise forms.ValidationError(f"“{f.name}”超过 {settings.MAX_UPLOAD_MB} MB，请压缩后再上传")
            head = f.read(16)
            f.seek(0)
            if attachments.sniff(head) is None:
                raise forms.ValidationError(f"“{f.name}”不是图片（JPEG、PNG、GIF、WebP）或 PDF 文件")
        return files


def _text(label: str, *, required: bool = False, max_length: int = 100, help_text: str = "", **attrs) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=max_length, help_text=help_text,
                           widget=forms.TextInput(attrs=attrs),
                           error_messages={"required": REQUIRED, "max_length": f"不能超过 {max_length} 字"})


def _phone() -> forms.CharField:
    return _text("手机号码", max_length=20, help_text="用于接收查询码短信和办理结果通知", type="tel",
                 inputmode="tel", autocomplete="tel")


class PersonMixin:
    """Identity, name and phone, checked as ``demands.intake.validate`` checks them."""

    def clean_phone(self):
        if self.data.get("identity") == Identity.ANONYMOUS:
            return ""  # not kept, so not checked
        phone = self.cleaned_data.get("phone", "").strip()
        if phone and not (6 <= len(phone) <= 20 and phone.replace("-", "").replace("+", "").isdigit()):
            raise forms.ValidationError("电话号码格式不正确，请只填数字，例如 13800001234")
        return phone

    def clean(self):
        data = super().clean()
        if data.get("identity") in (Identity.NAMED, Identity.CONFIDENTIAL) and not (
                data.get("name", "").strip() or data.get("phone", "").strip()):
            self.add_error("phone", "实名或保密提交请留下姓名或电话；不愿留下的请选择“匿名”")
        if data.get("identity") == Identity.ANONYMOUS:
            data["name"] = data["phone"] = ""  # anonymous: nothing that identifies the person is kept
        return data


class PlaceMixin:
    """Street → community → grid, each checked against the one above it."""

    places_query = ""

    def _init_place(self):
        hx = {"hx-post": reverse("portal:places") + self.places_query, "hx-trigger": "change",
              "hx-target": "#place-box", "hx-swap": "outerHTML",
              "hx-include": "[name=street],[name=community],[name=grid]", "hx-params": "street,community,grid"}
        for name in ("street", "community", "grid"):
            self.fields[name].widget.attrs.update(hx)
        src = self.data if self.is_bound else self.initial
        self.place = queries.place(src.get("street"), src.get("community"), src.get("grid"))
        p = self.place
        self.fields["street"].choices = [("", "请选择街道（乡镇）")] + [(s.pk, s.name) for s in p.streets]
        self.fields["community"].choices = [("", "请先选街道" if p.street is None else "请选择社区（村）")] + [
            (c.pk, c.name) for c in p.communities]
        self.fields["grid"].choices = [("", "不清楚网格可不选" if p.community else "请先选社区")] + [
            (g.pk, g.name) for g in p.grids]

    @property
    def place_id(self) -> int | None:
        cd = getattr(self, "cleaned_data", {})
        for name in ("grid", "community", "street"):
            if cd.get(name):
                return int(cd[name])
        return None


def _place_field(label: str, invalid: str) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, error_messages={"invalid_choice": invalid})


class DemandForm(FieldErrorsMixin, PersonMixin, PlaceMixin, forms.Form):
    content = forms.CharField(
        label="您要反映的事", max_length=MAX_CONTENT, widget=forms.Textarea(attrs={"rows": 5}),
        help_text="说清楚什么事、在哪里、从什么时候开始，有什么诉求。",
        error_messages={"required": "请写下您要反映的事", "max_length": f"内容不能超过 {MAX_CONTENT} 字"})
    title = _text("标题", max_length=MAX_TITLE, help_text="可不填，不填时取内容的第一句。")
    type = forms.ChoiceField(label="诉求类型", choices=PUBLIC_TYPES, initial=DemandType.HELP,
                             widget=forms.RadioSelect, error_messages={"required": "请选择诉求类型"})
    category = forms.ChoiceField(label="事项分类", required=False,
                                 error_messages={"invalid_choice": "所选分类不存在，请重新选择"})
    type_auto = forms.CharField(required=False, widget=forms.HiddenInput)
    category_auto = forms.CharField(required=False, widget=forms.HiddenInput)
    street = _place_field("街道（乡镇）", "请重新选择街道")
    community = _place_field("社区（村）", "所选社区不在这个街道，请重新选择")
    grid = _place_field("网格", "所选网格不在这个社区，请重新选择")
    address = _text("详细地址", max_length=255, help_text="例如：人民路 12 号院北门。", autocomplete="street-address")
    identity = forms.ChoiceField(label="是否公开您的身份", choices=Identity.choices, initial=Identity.CONFIDENTIAL,
                                 widget=forms.RadioSelect, error_messages={"required": "请选择是否公开身份"})
    name = _text("您的称呼", max_length=60, help_text="例如：陈女士", autocomplete="name")
    phone = _phone()
    photos = PhotosField(label="照片或材料", required=False,
                         help_text=f"可多选，图片或 PDF，每个不超过 {settings.MAX_UPLOAD_MB} MB。")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "不清楚，由工作人员判断")] + [
            (c.pk, c.name) for c in queries.top_categories()]
        self.fields["category"].widget.attrs["aria-describedby"] = "category_hint"
        hx = {"hx-post": reverse("portal:suggest"), "hx-trigger": "input changed delay:500ms",
              "hx-target": "#classify", "hx-swap": "outerHTML",
              "hx-include": "[name=title],[name=content],[name=type],[name=category],[name=type_auto],"
                            "[name=category_auto]",
              "hx-params": "title,content,type,category,type_auto,category_auto"}
        for name in ("content", "title"):
            self.fields[name].widget.attrs.update(hx)
        self._init_place()

    def clean_content(self):
        content = self.cleaned_data["content"].strip()
        if len(content) < 5:
            raise forms.ValidationError("请把事情说清楚一些（至少 5 个字）")
        return content


class ReportForm(FieldErrorsMixin, PersonMixin, PlaceMixin, forms.Form):
    places_query = "?for=report"
    content = forms.CharField(
        label="举报内容", max_length=MAX_CONTENT, widget=forms.Textarea(attrs={"rows": 6}),
        help_text="写清楚什么人、什么时间、在哪里、做了什么，有什么线索或证据。",
        error_messages={"required": "请写下举报内容", "max_length": f"内容不能超过 {MAX_CONTENT} 字"})
    title = _text("标题", max_length=MAX_TITLE, help_text="可不填，不填时取内容的第一句。")
    reported_unit = forms.ChoiceField(label="被举报单位", required=False,
                                      error_messages={"invalid_choice": "所选单位不存在，请重新选择"})
    reported_person = _text("被举报人", max_length=100, help_text="姓名或职务，知道就填。")
    street = _place_field("事发街道（乡镇）", "请重新选择街道")
    community = _place_field("事发社区（村）", "所选社区不在这个街道，请重新选择")
    grid = _place_field("网格", "所选网格不在这个社区，请重新选择")
    identity = forms.ChoiceField(label="是否公开您的身份", choices=Identity.choices, initial=Identity.ANONYMOUS,
                                 widget=forms.RadioSelect, error_messages={"required": "请选择是否公开身份"})
    name = _text("您的称呼", max_length=60, help_text="可以只写姓氏，例如：陈女士", autocomplete="name")
    phone = _phone()
    photos = PhotosField(label="证据材料", required=False,
                         help_text=f"可多选，图片或 PDF，每个不超过 {settings.MAX_UPLOAD_MB} MB。")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reported_unit"].choices = [("", "不清楚或不填")] + [
            (u.pk, u.name) for u in queries.report_targets()]
        self._init_place()

    def clean_content(self):
        content = self.cleaned_data["content"].strip()
        if len(content) < 5:
            raise forms.ValidationError("请把举报的事情说清楚一些（至少 5 个字）")
        return content


class TrackForm(FieldErrorsMixin, forms.Form):
    code = _text("查询码", max_length=20, required=True, autocomplete="off", autocapitalize="characters",
                 spellcheck="false")
    secret = forms.CharField(label="查询密码", max_length=40, error_messages={"required": REQUIRED},
                             widget=forms.PasswordInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                               "spellcheck": "false"}))


class RateForm(FieldErrorsMixin, forms.Form):
    resolved = forms.TypedChoiceField(label="问题解决了吗？", choices=[("yes", "已解决"), ("no", "没有解决")],
                                      coerce=lambda v: v == "yes", widget=forms.RadioSelect,
                                      error_messages={"required": "请选择问题是否解决"})
    satisfaction = forms.ChoiceField(label="您对办理结果满意吗？", choices=Satisfaction.choices,
                                     widget=forms.RadioSelect, error_messages={"required": "请选择是否满意"})
    comment = forms.CharField(label="想说的话", required=False, max_length=1000,
                              help_text="不满意的请说明原因，我们会据此重新办理。",
                              widget=forms.Textarea(attrs={"rows": 3}),
                              error_messages={"max_length": "不能超过 1000 字"})


class WithdrawForm(FieldErrorsMixin, forms.Form):
    reason = forms.CharField(label="撤回原因", required=False, max_length=200, help_text="例如：问题已自行解决。",
                             error_messages={"max_length": "不能超过 200 字"})
    confirm = forms.BooleanField(label="我确认撤回这件诉求（撤回后不再办理）",
                                 error_messages={"required": "请勾选确认后再撤回"})
