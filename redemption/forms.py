"""Console forms of prizes, lotteries and fulfilment: they parse input; the services decide and
write. Choices come from the actor's selectors, so a form never offers what the actor can't use."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campaigns.forms import DATETIME
from core.errors import NotFoundError
from core.numbers import plain_number
from coupons import selectors as coupon_selectors
from coupons.models import BatchStatus
from points import selectors as points_selectors
from points.models import Holder
from web.api.fields import INT_MAX
from web.forms import BootstrapMixin, ConsoleForm

from . import selectors
from .models import OutcomeKind, Prize, PrizeKind

# A select lists at most this many batches or prizes (the newest first), so a tenant with
# thousands of them still gets a page that loads; the current value is always offered too.
CHOICES_LIMIT = 200
PERCENT = Decimal(100)
PROBABILITY_STEP = Decimal("0.000001")  # the model's six decimals


def staff_programs(actor):
    """Prizes and lotteries are for staff (the redeem and draw services refuse other holders)."""
    return points_selectors.program_list(tenant=actor.tenant, actor=actor).filter(
        holder=Holder.STAFF
    )


def batch_choices(actor, *, current=()) -> list[tuple[str, str]]:
    """Coupon batches the actor can see and that are not ended, newest first, bounded; the
    `current` ones (what the prize or lottery names now) are offered whatever they are."""
    batches = (
        coupon_selectors.batch_list(tenant=actor.tenant, actor=actor)
        .exclude(status=BatchStatus.ENDED)
        .prefetch_related(None)
        .order_by("-id")
        .values_list("pk", "name", "campaign__name")[:CHOICES_LIMIT]
    )
    choices = [(str(pk), f"{name} · {campaign}") for pk, name, campaign in batches]
    return [("", "—"), *_with_current(choices, current)]


def _with_current(choices: list, current) -> list:
    listed = {value for value, _label in choices}
    missing = [(str(obj.pk), str(obj)) for obj in current if str(obj.pk) not in listed]
    return [*missing, *choices]


def prize_choices(actor, *, current=()) -> list[tuple[str, str]]:
    """Active prizes of staff programs, bounded, plus the `current` ones; the service checks
    that a prize belongs to the lottery's program."""
    prizes = (
        selectors.prize_list(tenant=actor.tenant, actor=actor)
        .filter(is_active=True, program__holder=Holder.STAFF)
        .order_by("-id")
        .values_list("pk", "name", "points_cost", "program__name")[:CHOICES_LIMIT]
    )
    choices = [
        (str(pk), _("%(name)s (%(points)d points, %(program)s)")
         % {"name": name, "points": points, "program": program})
        for pk, name, points, program in prizes
    ]  # fmt: skip
    return [("", "—"), *_with_current(choices, current)]


def _batch_lookup(actor, value: str):
    """The batch a select names, looked up in the actor's scope (a forged id is not found)."""
    if not value:
        return None
    try:
        return coupon_selectors.batch_get(tenant=actor.tenant, actor=actor, id=int(value))
    except (NotFoundError, ValueError):
        raise ValidationError(_("Choose one of the batches listed."), code="not_found") from None


# --- prizes ---------------------------------------------------------------------------------------


class PrizeForm(ConsoleForm):
    """A new prize. Times are read in the tenant's time zone (the request activates it)."""

    program: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Points program"), queryset=None
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=PrizeKind.choices)
    group = forms.CharField(
        label=_("Product group"),
        max_length=100,
        required=False,
        help_text=_(
            "Such as “Phone top-up”: prizes of the same program, kind and group are of the same "
            "kind, and the campaign check compares them with each other. Empty: the kind's "
            "general group."
        ),
    )
    points_cost = forms.IntegerField(label=_("Points cost"), min_value=1)
    value = forms.DecimalField(
        label=_("Value"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        initial=Decimal("0.00"),
        help_text=_(
            "What one costs the tenant; divided by its points, it must fall in the program's "
            "range of value per point."
        ),
    )
    stock = forms.IntegerField(
        label=_("Stock"),
        min_value=0,
        initial=0,
        help_text=_("Later changes go through a stock adjustment on the prize's page."),
    )
    per_holder_limit = forms.IntegerField(
        label=_("Limit per holder"),
        min_value=1,
        required=False,
        help_text=_("Empty: no limit."),
    )
    available_from = forms.DateTimeField(label=_("Available from"), required=False, widget=DATETIME)
    available_until = forms.DateTimeField(
        label=_("Available until"), required=False, widget=DATETIME
    )
    coupon_batch = forms.ChoiceField(
        label=_("Coupon batch"),
        required=False,
        help_text=_("Coupon prizes only: each redemption issues a coupon of this batch."),
    )

    def __init__(self, *args, prize: Prize | None = None, **kwargs):
        self.prize = prize
        super().__init__(*args, **kwargs)

    def setup(self):
        self.fields["program"].queryset = staff_programs(self.actor)
        zone = self.tenant.time_zone
        for name in ("available_from", "available_until"):
            self.fields[name].help_text = _("In %(zone)s. Empty: no bound.") % {"zone": zone}
        current = [self.prize.coupon_batch] if self.prize and self.prize.coupon_batch else []
        self.fields["coupon_batch"].choices = batch_choices(self.actor, current=current)

    def clean_coupon_batch(self):
        return _batch_lookup(self.actor, self.cleaned_data["coupon_batch"])

    def clean(self):
        data = super().clean()
        kind = data.get("kind", self.prize.kind if self.prize else None)
        if kind != PrizeKind.COUPON:
            data["coupon_batch"] = None  # a batch left selected before the kind changed
        start, end = data.get("available_from"), data.get("available_until")
        if start and end and end <= start:
            self.add_error("available_until", _("After the start of availability."))
        return data

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class PrizeEditForm(PrizeForm):
    """An existing prize: its program and kind are fixed, and its stock moves by adjustments."""

    def setup(self):
        super().setup()
        for name in ("program", "kind", "stock"):
            del self.fields[name]
        if self.prize is not None and self.prize.kind != PrizeKind.COUPON:
            del self.fields["coupon_batch"]

    @staticmethod
    def initial_for(prize: Prize) -> dict:
        return {
            "name": prize.name,
            "group": prize.group,
            "points_cost": prize.points_cost,
            "value": prize.value,
            "per_holder_limit": prize.per_holder_limit,
            "available_from": prize.available_from,
            "available_until": prize.available_until,
            "coupon_batch": str(prize.coupon_batch_id or ""),
        }

    def service_kwargs(self) -> dict:
        """Only what changed: prize_update checks a batch sent again as if newly chosen."""
        assert self.prize is not None
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if getattr(self.prize, name) != value
        }


class StockAdjustForm(BootstrapMixin, forms.Form):
    delta = forms.IntegerField(
        label=_("Change of stock"),
        help_text=_("Positive to add, negative to take away."),
        min_value=-INT_MAX,
        max_value=INT_MAX,
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="stock", **kwargs)
        self._style()

    def clean_delta(self):
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise ValidationError(_("A change of 0 changes nothing."))
        return delta


# --- lotteries ------------------------------------------------------------------------------------


class LotteryForm(ConsoleForm):
    program: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Points program"), queryset=None
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    cost_points = forms.IntegerField(
        label=_("Cost of a draw (points)"),
        min_value=1,
        help_text=_("It goes live only if a draw costs at least what it returns on average."),
    )

    def setup(self):
        self.fields["program"].queryset = staff_programs(self.actor)


class LotteryEditForm(LotteryForm):
    """A draft lottery: its program is fixed."""

    def setup(self):
        del self.fields["program"]


class OutcomeForm(BootstrapMixin, forms.Form):
    """One row of a lottery's prize table. The probability is entered as a percent (12.5 means
    12.5 %) and handed to the service as the model's fraction (0.125)."""

    kind = forms.ChoiceField(label=_("Outcome"), choices=[("", "—"), *OutcomeKind.choices])
    points = forms.IntegerField(label=_("Points"), min_value=1, required=False)
    prize = forms.ChoiceField(label=_("Prize"), required=False)
    batch = forms.ChoiceField(label=_("Coupon batch"), required=False)
    percent = forms.DecimalField(
        label=_("Probability (%)"),
        max_digits=8,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        max_value=PERCENT,
        widget=forms.NumberInput(attrs={"step": "0.0001", "data-outcome-percent": "true"}),
    )
    inventory = forms.IntegerField(
        label=_("Inventory"), min_value=0, required=False, help_text=_("Empty: unlimited.")
    )

    def __init__(self, *args, actor, prizes, batches, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["prize"].choices = prizes
        self.fields["batch"].choices = batches
        self._style()

    def clean_prize(self):
        value = self.cleaned_data["prize"]
        if not value:
            return None
        try:
            return selectors.prize_get(tenant=self.actor.tenant, actor=self.actor, id=int(value))
        except (NotFoundError, ValueError):
            raise ValidationError(_("Choose one of the prizes listed."), code="not_found") from None

    def clean_batch(self):
        return _batch_lookup(self.actor, self.cleaned_data["batch"])

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        needs = {
            OutcomeKind.POINTS: "points",
            OutcomeKind.PRIZE: "prize",
            OutcomeKind.COUPON: "batch",
        }
        for name in ("points", "prize", "batch"):
            if needs.get(kind) == name:
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, _("Required for this outcome."))
            else:
                data[name] = None  # what another kind of row would name: left over, not meant
        if kind == OutcomeKind.NOTHING:
            data["inventory"] = None
        return data

    def outcome(self) -> dict:
        """The row as lottery_create and lottery_update take it."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "points": data["points"],
            "prize": data["prize"],
            "batch": data["batch"],
            "probability": (data["percent"] / PERCENT).quantize(PROBABILITY_STEP),
            "inventory": data["inventory"],
        }

    @staticmethod
    def initial_for(outcome) -> dict:
        return {
            "kind": outcome.kind,
            "points": outcome.points,
            "prize": str(outcome.prize_id or ""),
            "batch": str(outcome.batch_id or ""),
            "percent": plain_number(outcome.probability * PERCENT),  # 50, not 5E+1
            "inventory": outcome.inventory,
        }


class BaseOutcomeFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:  # added after the form styled its own fields
            form.fields["DELETE"].label = _("Remove")
            form.fields["DELETE"].widget.attrs["class"] = "form-check-input"

    def _kept(self) -> list:
        """The rows that name a kind and are not marked for removal, in the order shown (an
        unchanged existing row counts: editing only the name keeps the table)."""
        return [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", {}).get("kind") and not self._should_delete_form(form)  # type: ignore[attr-defined]
        ]

    def outcomes(self) -> list[dict]:
        return [form.outcome() for form in self._kept()]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        rows = self._kept()
        if not rows:
            raise ValidationError(_("Add at least one outcome."))
        # The service checks the fractions too; this says it in the percent the form speaks.
        total = sum(f.cleaned_data["percent"] for f in rows)
        if total != PERCENT:
            raise ValidationError(
                _("The probabilities add up to %(total)s %%; they must make exactly 100 %%.")
                % {"total": plain_number(total)}
            )


def _outcome_formset(extra: int):
    return forms.formset_factory(
        OutcomeForm,
        formset=BaseOutcomeFormSet,
        extra=extra,
        max_num=20,
        validate_max=True,
        can_delete=True,
    )


# Blank rows for a new table (an outcome and "nothing"), one below an existing table; the
# page's script adds more.
OutcomeFormSet = _outcome_formset(extra=2)
OutcomeEditFormSet = _outcome_formset(extra=1)


# --- fulfilment -----------------------------------------------------------------------------------


class ShipForm(BootstrapMixin, forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=100)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
