"""Console form of campaigns: it parses input; the services decide and write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Region
from accounts.selectors import region_list
from budgets.models import Budget, BudgetStatus
from budgets.selectors import budget_list
from web.forms import BootstrapMixin

from .models import Channel

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CampaignForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    budget: "forms.ModelChoiceField[Budget]" = forms.ModelChoiceField(
        label=_("Budget"),
        queryset=None,
        help_text=_(
            "The campaign's business unit is the budget's; it is scheduled only under an approved budget."
        ),
    )
    starts_at = forms.DateTimeField(label=_("Starts at"), widget=DATETIME)
    ends_at = forms.DateTimeField(label=_("Ends at"), widget=DATETIME)
    channels: "forms.ModelMultipleChoiceField[Channel]" = forms.ModelMultipleChoiceField(
        label=_("Channels"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    regions: "forms.ModelMultipleChoiceField[Region]" = forms.ModelMultipleChoiceField(
        label=_("Target regions"),
        queryset=None,
        widget=forms.SelectMultiple(attrs={"size": 8, "data-filterable": "true"}),
        help_text=_("Hold Ctrl (⌘ on a Mac) to choose several."),
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        tenant = actor.tenant
        self.fields["budget"].queryset = budget_list(tenant=tenant, actor=actor).exclude(
            status__in=[BudgetStatus.CLOSED, BudgetStatus.REJECTED]
        )
        self.fields["channels"].queryset = Channel.objects.for_tenant(tenant).filter(is_active=True)
        self.fields["channels"].label_from_instance = lambda channel: channel.name
        self.fields["regions"].queryset = region_list(tenant=tenant, actor=actor)
        self._style()

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("The campaign must end after it starts."))
        return data

    @staticmethod
    def initial_for(campaign) -> dict:
        return {
            "name": campaign.name,
            "description": campaign.description,
            "budget": campaign.budget_id,
            "starts_at": campaign.starts_at,
            "ends_at": campaign.ends_at,
            "channels": list(campaign.channels.all()),
            "regions": list(campaign.regions.all()),
        }


class ChannelForm(BootstrapMixin, forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=50)
    name = forms.CharField(label=_("Name"), max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
