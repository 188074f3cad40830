"""Forms of the staff portal's prizes: the redeem form."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from web.forms import BootstrapMixin

from .models import Prize, PrizeKind


def new_request_key() -> str:
    """One key per rendered form: a double tap or a retry of that form redeems once."""
    return uuid.uuid4().hex


class RedeemForm(BootstrapMixin, forms.Form):
    """How many, where to ship a physical prize, and the form's request key (hidden)."""

    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 1}),
    )
    shipping_address = forms.CharField(
        label=_("Shipping address"),
        max_length=1000,
        help_text=_("Recipient, phone number, street, city and postcode."),
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )
    request_key = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)

    def __init__(self, *args, prize: Prize, **kwargs):
        kwargs.setdefault("initial", {"quantity": 1, "request_key": new_request_key()})
        super().__init__(*args, **kwargs)
        if prize.kind != PrizeKind.PHYSICAL:
            del self.fields["shipping_address"]
        if prize.kind == PrizeKind.COUPON:
            # One at a time: the redemption's page shows the one code it issued.
            self.fields["quantity"] = forms.IntegerField(
                min_value=1, max_value=1, initial=1, widget=forms.HiddenInput
            )
        # A hint for the browser only: the service says why a larger quantity is refused.
        most = min(n for n in (prize.stock, getattr(prize, "limit_left", None)) if n is not None)
        if most >= 1:
            self.fields["quantity"].widget.attrs["max"] = most
        self._style()

    def clean(self):
        cleaned = super().clean()
        if "request_key" in self.errors:  # hidden: say it at the top, where it is seen
            self.add_error(None, _("This form is out of date. Check it and send it again."))
        return cleaned

    def renew_request_key(self) -> None:
        """A form shown again (with its errors) is a new render: it gets a new key."""
        if self.is_bound:
            self.data = {**self.data, "request_key": new_request_key()}
