"""Console forms of points: they parse and check input; the services decide and write."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.utils.translation import gettext_lazy as _

from accounts.models import Region
from campaigns.selectors import campaign_list
from core.errors import DomainError
from web.forms import BootstrapMixin, ConsoleForm

from .models import (
    ExpiryPeriod,
    ExpiryPolicy,
    Holder,
    PendingPolicy,
    RuleKind,
    TierBasis,
    default_point_value_range,
)


class ProgramForm(ConsoleForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    holder = forms.ChoiceField(label=_("Whose points"), choices=Holder.choices)
    point_value = forms.DecimalField(
        label=_("Value of one point"), max_digits=12, decimal_places=6, min_value=0
    )
    point_value_min = forms.DecimalField(
        label=_("Lowest value per point"),
        max_digits=12,
        decimal_places=6,
        required=False,
        help_text=_(
            "The least money a prize may give for each point it costs (its value divided by its "
            "points). Empty: 0.8 times the value of a point."
        ),
    )
    point_value_max = forms.DecimalField(
        label=_("Highest value per point"),
        max_digits=12,
        decimal_places=6,
        required=False,
        help_text=_(
            "The most money a prize may give for each point it costs; dearer prizes may give "
            "more per point. Empty: 1.2 times the value of a point."
        ),
    )
    expiry_policy = forms.ChoiceField(label=_("Expiry"), choices=ExpiryPolicy.choices)
    expiry_days = forms.IntegerField(label=_("Expire after days"), min_value=1, required=False)
    expiry_period = forms.ChoiceField(
        label=_("Expire at the end of"), choices=[("", "—"), *ExpiryPeriod.choices], required=False
    )
    pending_policy = forms.ChoiceField(label=_("Pending"), choices=PendingPolicy.choices)
    pending_days = forms.IntegerField(label=_("Pending days"), min_value=0, required=False)
    weekly_cap = forms.IntegerField(label=_("Weekly cap per holder"), min_value=1, required=False)
    monthly_cap = forms.IntegerField(label=_("Monthly cap per holder"), min_value=1, required=False)
    allow_negative = forms.BooleanField(
        label=_("A reversal may take the balance below zero"), required=False
    )
    transferable = forms.BooleanField(label=_("Holders may transfer points"), required=False)
    transfer_per_transfer = forms.IntegerField(
        label=_("At most per transfer"), min_value=1, required=False
    )
    transfer_per_month = forms.IntegerField(
        label=_("At most transferred a month"), min_value=1, required=False
    )
    tier_basis = forms.ChoiceField(label=_("Tiers by"), choices=TierBasis.choices)
    tiers = forms.CharField(
        label=_("Membership tiers"),
        help_text=_("One a line: name, points from which it applies, earn multiplier."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "gold, 1000, 1.5"}),
    )

    def clean_tiers(self) -> list[dict]:
        tiers = []
        for line in self.cleaned_data["tiers"].splitlines():
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split(",")]
            try:
                name, threshold, multiplier = parts
                tier = {"name": name, "threshold": int(threshold)}
                tier["multiplier"] = str(Decimal(multiplier))
            except (ValueError, ArithmeticError):
                raise ValidationError(
                    _("“%(line)s” is not: name, points, multiplier.") % {"line": line.strip()}
                ) from None
            if not name or tier["threshold"] < 0:
                raise ValidationError(_("Each tier has a name and a threshold of 0 or more."))
            tiers.append(tier)
        return tiers

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["expiry_period"] = data.get("expiry_period") or ""
        for name in ("point_value_min", "point_value_max"):
            if data[name] is None:
                data.pop(name)  # the program's default
        return data

    def add_domain_error(self, exc: DomainError) -> None:
        """The API's point_value_range is the two range fields here: the message goes above the
        form, once, and both fields are marked."""
        messages = exc.fields.get("point_value_range")
        if not messages:
            return super().add_domain_error(exc)
        for message in messages:
            self.add_error(None, message)
        for name in ("point_value_min", "point_value_max"):
            self._mark_invalid(name)
        rest = {name: m for name, m in exc.fields.items() if name != "point_value_range"}
        if rest:
            super().add_domain_error(type(exc)(exc.detail, code=exc.code, fields=rest))


class ProgramEditForm(ProgramForm):
    """The program form for an existing program: its holder is fixed."""

    def setup(self):
        self.fields["holder"].disabled = True

    @staticmethod
    def initial_for(program) -> dict:
        initial = model_to_dict(program, fields=list(ProgramForm.base_fields))
        initial["tiers"] = "\n".join(
            f"{t['name']}, {t['threshold']}, {t['multiplier']}" for t in program.tiers
        )
        return initial

    def service_kwargs(self) -> dict:
        data = super().service_kwargs()
        data.pop("holder")
        defaults = dict(
            zip(
                ("point_value_min", "point_value_max"),
                default_point_value_range(data["point_value"]),
                strict=True,
            )
        )
        for name, default in defaults.items():
            data[name] = data.get(name, default)  # an end emptied: the new value's ± 20 %
            if data[name] == self.initial.get(name):
                # An end kept is not sent, so a new point value alone is checked against the
                # range it would leave (program_update) rather than slipping out of it.
                data.pop(name)
        return data


class RankTierForm(BootstrapMixin, forms.Form):
    """One row of the rule editor's tier table: the from-th to the to-th order earn points."""

    rank_from = forms.IntegerField(label=_("From order"), min_value=1)
    rank_to = forms.IntegerField(label=_("To order"), min_value=1)
    points = forms.IntegerField(label=_("Points each"), min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean(self):
        data = super().clean()
        if data.get("rank_from") and data.get("rank_to") and data["rank_to"] < data["rank_from"]:
            raise ValidationError(_("A tier ends at or after its start."))
        return data


RankTierFormSet = forms.formset_factory(RankTierForm, extra=4, max_num=20)


class RuleForm(ConsoleForm):
    campaign = forms.ChoiceField(label=_("Campaign"))
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=RuleKind.choices)
    points = forms.IntegerField(label=_("Points"), min_value=1, required=False)
    per_amount = forms.DecimalField(
        label=_("Per amount of money"), max_digits=14, decimal_places=2, required=False
    )
    min_amount = forms.DecimalField(
        label=_("Minimum order amount"), max_digits=14, decimal_places=2, required=False
    )
    regions = forms.CharField(
        label=_("Regions (codes, comma-separated)"),
        help_text=_(
            "A region covers everything below it. Each region named keeps its own first-N count "
            "and per-region cap: name a province for one count across it, or its zones for one "
            "count each. An order counts in the nearest named region at or above its own."
        ),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    milestone_count = forms.IntegerField(label=_("Milestone: orders"), min_value=1, required=False)
    milestone_period = forms.ChoiceField(
        label=_("Milestone: within a"),
        choices=[("", "—"), ("week", _("week")), ("month", _("month"))],
        required=False,
    )
    milestone_points = forms.IntegerField(
        label=_("Milestone: bonus points"), min_value=1, required=False
    )
    cap_total = forms.IntegerField(label=_("Cap in total"), min_value=1, required=False)
    cap_per_holder_week = forms.IntegerField(
        label=_("Cap per holder a week"), min_value=1, required=False
    )
    cap_per_region = forms.IntegerField(label=_("Cap per region"), min_value=1, required=False)

    def setup(self):
        campaigns = campaign_list(tenant=self.tenant, actor=self.actor).exclude(status="ended")
        self.fields["campaign"].choices = [(c.pk, str(c)) for c in campaigns]

    def clean_regions(self):
        codes = [c.strip() for c in self.cleaned_data["regions"].replace("\n", ",").split(",")]
        codes = [c for c in codes if c]
        regions = list(Region.objects.for_tenant(self.tenant).filter(code__in=codes))
        unknown = sorted(set(codes) - {r.code for r in regions})
        if unknown:
            raise ValidationError(_("Unknown regions: %s") % ", ".join(unknown))
        return regions

    def _kind(self) -> str:
        return self.cleaned_data["kind"]

    def service_kwargs(self, tiers: list[dict]) -> dict:
        data = dict(self.cleaned_data)
        for name in ("campaign", "regions", "milestone_count", "milestone_period"):
            data.pop(name, None)
        points = data.pop("milestone_points")
        if self._kind() == RuleKind.MILESTONE:
            data["milestone"] = {
                "count": self.cleaned_data["milestone_count"],
                "period": self.cleaned_data["milestone_period"],
                "points": points,
            }
        data["tiers"] = tiers
        return data


class RuleEditForm(RuleForm):
    """The rule editor for an existing rule: its campaign and kind are fixed."""

    def __init__(self, *args, rule, **kwargs):
        self.rule = rule
        super().__init__(*args, **kwargs)

    def setup(self):
        del self.fields["campaign"]
        del self.fields["kind"]

    def _kind(self) -> str:
        return self.rule.kind

    @staticmethod
    def initial_for(rule) -> tuple[dict, list[dict]]:
        """The form's and the tier table's initial values."""
        milestone = rule.milestone or {}
        initial = model_to_dict(rule, fields=list(RuleForm.base_fields))
        initial.update(
            regions=", ".join(sorted(r.code for r in rule.regions.all())),
            milestone_count=milestone.get("count"),
            milestone_period=milestone.get("period", ""),
            milestone_points=milestone.get("points"),
        )
        tiers = [
            {"rank_from": t["from"], "rank_to": t["to"], "points": t["points"]} for t in rule.tiers
        ]
        return initial, tiers


class AdjustmentForm(BootstrapMixin, forms.Form):
    points = forms.IntegerField(
        label=_("Points"), help_text=_("Negative to take points away (oldest first).")
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
