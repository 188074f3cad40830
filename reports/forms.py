"""Console forms of the reports: they parse input; the services decide and write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.selectors import merchant_get
from web.forms import ConsoleForm


class SettlementForm(ConsoleForm):
    first_day = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(
        label=_("To"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Both days included; the last must have passed."),
    )
    merchant = forms.CharField(
        label=_("Merchant code"),
        required=False,
        help_text=_("Leave empty to settle every merchant."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_merchant(self):
        return self._lookup("merchant", merchant_get, _("No merchant of yours has this code."))
