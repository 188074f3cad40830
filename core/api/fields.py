from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class TenantCodeField(serializers.SlugRelatedField):
    """A reference by `code` to a row of the caller's own tenant (SPEC §10 References).

    Another tenant's code is simply unknown here, so it can't be told apart from a typo.
    """

    default_error_messages = {
        "does_not_exist": _("Unknown {model}: “{value}”."),
        "invalid": _("Invalid value."),
    }

    def __init__(self, model, *, related: tuple[str, ...] = (), **kwargs):
        self.model = model
        self.related = related  # loaded with the row (select_related)
        kwargs.setdefault("slug_field", "code")
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.for_tenant(self.context["tenant"]).select_related(*self.related)

    def to_internal_value(self, data):
        try:
            return self.get_queryset().get(**{self.slug_field: data})
        except self.model.DoesNotExist:
            self.fail("does_not_exist", model=self.model._meta.verbose_name, value=str(data))
        except (TypeError, ValueError):
            self.fail("invalid")
