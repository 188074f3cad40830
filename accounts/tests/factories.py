"""Factories for accounts; every one needs a tenant, so two-tenant tests stay cheap."""

import factory

from accounts.models import (
    BusinessUnit,
    Customer,
    Membership,
    Merchant,
    MerchantStaff,
    Region,
    Tenant,
    User,
)
from accounts.roles import Role

PASSWORD = "Correct-horse-42"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class BusinessUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessUnit

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"BU{n}")
    name = factory.LazyAttribute(lambda o: f"Unit {o.code}")


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"R{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Region {o.code}")


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"M{n:05d}")
    name = factory.LazyAttribute(lambda o: f"Merchant {o.code}")
    region = factory.SubFactory(RegionFactory, tenant=factory.SelfAttribute("..tenant"))


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MerchantStaff

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"S{n:06d}")
    name = factory.LazyAttribute(lambda o: f"Staff {o.code}")
    merchant = factory.SubFactory(MerchantFactory, tenant=factory.SelfAttribute("..tenant"))


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"C{n:07d}")
    region = factory.SubFactory(RegionFactory, tenant=factory.SelfAttribute("..tenant"))


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.TENANT_ADMIN
