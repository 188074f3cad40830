"""Console forms of budgets: they parse input; the services decide and write."""

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import BusinessUnit
from accounts.selectors import business_unit_list
from web.forms import BootstrapMixin

from .models import BudgetPurpose


class BudgetForm(BootstrapMixin, forms.Form):
    business_unit: "forms.ModelChoiceField[BusinessUnit]" = forms.ModelChoiceField(
        label=_("Business unit"), queryset=None
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=BudgetPurpose.choices)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=0.01)
    starts_on = forms.DateField(
        label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why it changed; kept in the audit log."),
    )

    def __init__(self, *args, actor, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        units = cast(forms.ModelChoiceField, self.fields["business_unit"])
        units.queryset = business_unit_list(tenant=actor.tenant, actor=actor)
        if not editing:
            del self.fields["note"]
        self._style()

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("The budget must end on or after its start."))
        return data

    @staticmethod
    def initial_for(budget) -> dict:
        return {
            "business_unit": budget.business_unit_id,
            "name": budget.name,
            "purpose": budget.purpose,
            "amount": budget.amount,
            "starts_on": budget.starts_on,
            "ends_on": budget.ends_on,
        }


class AdjustmentForm(BootstrapMixin, forms.Form):
    amount_delta = forms.DecimalField(
        label=_("Change of amount"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Positive to increase, negative to decrease."),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
