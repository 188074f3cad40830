from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

INT_MAX = 2**31 - 1  # an integer / PositiveIntegerField column (int4)


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


class WholeEvenInPatch:
    """Mixin for a nested serializer whose objects are replaced whole (a list of tiers, a
    milestone): each needs all its required fields, in a PATCH too.

    DRF hands a PATCH's `partial=True` down to nested serializers, so without this a tier could
    leave out its threshold and the code reading it would fail (a 500, not a 400).
    """

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if getattr(self.root, "partial", False):
            missing = {
                name: [field.error_messages["required"]]
                for name, field in self.fields.items()
                if field.required and not field.read_only and field.source not in value
            }
            if missing:
                raise serializers.ValidationError(missing)
        return value
