"""Console forms of coupons: the batch design, the issuance modes, segments."""

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from campaigns.selectors import campaign_list
from core.errors import DomainError
from web.forms import ConsoleForm

from . import codes
from .models import BatchKind, CodeMode

# The service names nested API fields with dots; the form's fields are flat.
SERVICE_TO_FORM = {
    "code.length": "code_length",
    "code.prefix": "code_prefix",
    "code.shared_code": "shared_code",
    "code.mode": "code_mode",
    "frequency_cap": "frequency_cap_count",
}
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class BatchForm(ConsoleForm):
    campaign: "forms.ModelChoiceField[Campaign]" = forms.ModelChoiceField(
        queryset=None, label=_("Campaign")
    )
    name = forms.CharField(max_length=200, label=_("Name"))
    kind = forms.ChoiceField(choices=BatchKind.choices, label=_("Kind"))
    value = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        label=_("Value"),
        help_text=_("Money off; for percent_off the percentage; for free shipping what it costs."),
    )
    threshold = forms.DecimalField(
        max_digits=14, decimal_places=2, required=False, label=_("Threshold")
    )
    max_discount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        label=_("Cap"),
        help_text=_("Required for percentage off."),
    )
    valid_days = forms.IntegerField(
        required=False, min_value=1, label=_("Valid for days from issue")
    )
    valid_from = forms.DateTimeField(required=False, widget=DATETIME, label=_("Valid from"))
    valid_until = forms.DateTimeField(required=False, widget=DATETIME, label=_("Valid until"))
    extend_past_campaign = forms.BooleanField(
        required=False, label=_("May stay valid after the campaign ends")
    )
    quantity = forms.IntegerField(min_value=1, label=_("Quantity"))
    per_customer_limit = forms.IntegerField(min_value=1, initial=1, label=_("Per customer"))
    frequency_cap_count = forms.IntegerField(
        required=False, min_value=1, label=_("Frequency cap: at most")
    )
    frequency_cap_days = forms.IntegerField(required=False, min_value=1, label=_("… per days"))
    scope_categories = forms.CharField(
        required=False,
        label=_("Categories"),
        help_text=_("Comma-separated; empty for the whole platform."),
    )
    stackable = forms.BooleanField(required=False, label=_("Stackable"))
    claimable = forms.BooleanField(required=False, label=_("Customers may claim it"))
    code_mode = forms.ChoiceField(choices=CodeMode.choices, label=_("Codes"))
    code_length = forms.IntegerField(
        required=False,
        initial=codes.DEFAULT_LENGTH,
        label=_("Code length"),
        help_text=_("At least %d characters (40 bits).") % codes.MIN_LENGTH,
    )
    code_prefix = forms.CharField(required=False, max_length=16, label=_("Prefix"))
    shared_code = forms.CharField(required=False, max_length=32, label=_("Shared code"))

    def setup(self):
        self.fields["campaign"].queryset = campaign_list(tenant=self.tenant, actor=self.actor)

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["scope_categories"] = [
            c.strip() for c in (data.get("scope_categories") or "").split(",") if c.strip()
        ]
        return data

    def add_domain_error(self, exc: DomainError) -> None:
        exc.fields = {SERVICE_TO_FORM.get(k, k): v for k, v in exc.fields.items()}
        super().add_domain_error(exc)


class IssueListForm(forms.Form):
    customers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
        label=_("Customer codes"),
        help_text=_("One per line, or separated by commas."),
    )

    def codes(self) -> list[str]:
        raw = self.cleaned_data["customers"].replace(",", "\n")
        return [line.strip() for line in raw.splitlines() if line.strip()]


class IssueFileForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or XLSX file"),
        help_text=_("One customer code a row; a header row is skipped."),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,.xlsx"}),
    )


class GenerateForm(forms.Form):
    count = forms.IntegerField(
        min_value=1,
        label=_("Number of codes"),
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )


def _codes(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("Name"))
    regions = forms.CharField(
        required=False, label=_("Regions"), help_text=_("Region codes, comma-separated.")
    )
    tags_any = forms.CharField(
        required=False, label=_("Any of the tags"), help_text=_("Comma-separated.")
    )
    registered_after = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Registered from")
    )
    registered_before = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Registered until")
    )
    last_order_after = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Last order from")
    )
    last_order_before = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Last order until")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")

    def filters(self) -> dict:
        data = self.cleaned_data
        filters = {}
        for key in ("regions", "tags_any"):
            if _codes(data.get(key)):
                filters[key] = _codes(data[key])
        for key in (
            "registered_after",
            "registered_before",
            "last_order_after",
            "last_order_before",
        ):
            if data.get(key):
                filters[key] = data[key]
        return filters
