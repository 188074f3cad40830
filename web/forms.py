"""The base of every console and portal form: Bootstrap styling, a service's refusal shown on
its fields, and (ConsoleForm) the actor, so choices stay inside the actor's scope."""

from typing import TYPE_CHECKING

from django import forms
from django.core.exceptions import ValidationError

from accounts.permissions import Actor
from core.errors import DomainError, NotFoundError

# Mixed into forms only: to mypy it is the form it works on, at run time a plain mixin.
if TYPE_CHECKING:
    _Form = forms.BaseForm
else:
    _Form = object


class BootstrapMixin(_Form):
    """Bootstrap classes on every widget, and `is-invalid` on the fields that failed."""

    def _style(self):
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            self._mark_invalid(name)

    def _mark_invalid(self, name):
        if name in self.fields:
            widget = self.fields[name].widget
            if "is-invalid" not in widget.attrs.get("class", ""):
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
            widget.attrs["aria-invalid"] = "true"

    def add_domain_error(self, exc: DomainError) -> None:
        """A service's refusal on the form: per field where it names one, else at the top."""
        placed = False
        for name, messages in exc.fields.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)
                placed = True
            self._mark_invalid(name)
        if not placed or not set(exc.fields) <= set(self.fields):
            self.add_error(None, exc.detail)


class ConsoleForm(BootstrapMixin, forms.Form):
    """A form that knows the tenant and the actor, so choices stay inside the actor's scope."""

    def __init__(self, *args, actor: Actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.tenant = actor.tenant
        self.setup()
        self._style()

    def setup(self):
        """Subclasses narrow their choices here."""

    def _lookup(self, name: str, getter, message):
        code = (self.cleaned_data.get(name) or "").strip()
        if not code:
            return None
        try:
            return getter(tenant=self.tenant, actor=self.actor, code=code)
        except NotFoundError:
            raise ValidationError(message, code="not_found") from None
