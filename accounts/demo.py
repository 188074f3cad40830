"""Accounts' part of the demo tenant (SPEC §9): the tenant, business units, 1,111 regions,
merchants and their staff, customers, and one login per role. See core/demo.py for the registry.

Master data is written with bulk_create in chunks instead of the per-row upsert services: those
lock, snapshot and audit one row at a time, which for thousands of rows would take minutes on
SQLite and flood the audit log. Each bulk step writes one audit entry that says what it loaded.
Users, memberships and grants go through `user_create`, so roles and guardian grants are made
exactly as the console makes them.
"""

from datetime import timedelta

from django.db import transaction

from core.demo import DemoContext, DemoLogin, demo_step
from core.fingerprints import fingerprint  # the API's own, so demo rows match integrator rows
from core.services import audit_record

from .models import (
    BusinessUnit,
    Customer,
    Membership,
    Merchant,
    MerchantStaff,
    Region,
    Tenant,
    User,
)
from .roles import PORTAL_ROLES, Role
from .services import tenant_create, user_create

DEMO_SLUG = "demo"
DEMO_NAME = "Double Eleven After-Sales (demo)"
DEMO_PASSWORD = "double11-demo"
DEMO_DOMAIN = "demo.example.com"  # every demo user's address: how rundemo finds them
DEMO_ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
CHUNK = 2_000

# (username, role, what it is scoped to) — one login per role of SPEC §7.
DEMO_USERS: list[tuple[str, Role, str]] = [
    (DEMO_ADMIN_EMAIL, Role.TENANT_ADMIN, "the whole tenant"),
    ("demo-bu-admin", Role.BU_ADMIN, "business unit AFTERSALES"),
    ("demo-operator", Role.OPERATOR, "HQ, all regions"),
    ("demo-regional", Role.REGIONAL_OPERATOR, "regions GD (Guangdong) and ZJ (Zhejiang)"),
    ("demo-finance", Role.FINANCE, "budgets and money figures"),
    ("demo-auditor", Role.AUDITOR, "read-only"),
    ("demo-merchant-admin", Role.MERCHANT_ADMIN, "merchant M00001"),
    ("demo-staff", Role.MERCHANT_STAFF, "staff M00001-01 of merchant M00001"),
]
REGIONAL_REGIONS = ["GD", "ZJ"]
PORTAL_MERCHANT = "M00001"
PORTAL_STAFF = "M00001-01"

BUSINESS_UNITS = [
    ("AFTERSALES", "After-sales service"),
    ("APPLIANCES", "Home appliances"),
    ("MOBILE", "Mobile and digital"),
    ("INSTALL", "Delivery and installation"),
]

# Provinces by their ISO 3166-2:CN suffix, each with three real cities; service zones below the
# cities bring the tree to the 1,111 reward regions of SPEC §9.
PROVINCES: list[tuple[str, str, list[str]]] = [
    ("BJ", "Beijing", ["Dongcheng", "Haidian", "Chaoyang"]),
    ("TJ", "Tianjin", ["Heping", "Binhai", "Nankai"]),
    ("HE", "Hebei", ["Shijiazhuang", "Tangshan", "Baoding"]),
    ("SX", "Shanxi", ["Taiyuan", "Datong", "Yuncheng"]),
    ("NM", "Inner Mongolia", ["Hohhot", "Baotou", "Ordos"]),
    ("LN", "Liaoning", ["Shenyang", "Dalian", "Anshan"]),
    ("JL", "Jilin", ["Changchun", "Jilin City", "Yanbian"]),
    ("HL", "Heilongjiang", ["Harbin", "Daqing", "Qiqihar"]),
    ("SH", "Shanghai", ["Pudong", "Xuhui", "Minhang"]),
    ("JS", "Jiangsu", ["Nanjing", "Suzhou", "Wuxi"]),
    ("ZJ", "Zhejiang", ["Hangzhou", "Ningbo", "Wenzhou"]),
    ("AH", "Anhui", ["Hefei", "Wuhu", "Bengbu"]),
    ("FJ", "Fujian", ["Fuzhou", "Xiamen", "Quanzhou"]),
    ("JX", "Jiangxi", ["Nanchang", "Ganzhou", "Jiujiang"]),
    ("SD", "Shandong", ["Jinan", "Qingdao", "Yantai"]),
    ("HA", "Henan", ["Zhengzhou", "Luoyang", "Kaifeng"]),
    ("HB", "Hubei", ["Wuhan", "Yichang", "Xiangyang"]),
    ("HN", "Hunan", ["Changsha", "Zhuzhou", "Hengyang"]),
    ("GD", "Guangdong", ["Guangzhou", "Shenzhen", "Dongguan"]),
    ("GX", "Guangxi", ["Nanning", "Guilin", "Liuzhou"]),
    ("HI", "Hainan", ["Haikou", "Sanya", "Danzhou"]),
    ("CQ", "Chongqing", ["Yuzhong", "Jiangbei", "Wanzhou"]),
    ("SC", "Sichuan", ["Chengdu", "Mianyang", "Yibin"]),
    ("GZ", "Guizhou", ["Guiyang", "Zunyi", "Anshun"]),
    ("YN", "Yunnan", ["Kunming", "Dali", "Qujing"]),
    ("XZ", "Tibet", ["Lhasa", "Shigatse", "Nyingchi"]),
    ("SN", "Shaanxi", ["Xi'an", "Baoji", "Xianyang"]),
    ("GS", "Gansu", ["Lanzhou", "Tianshui", "Jiuquan"]),
    ("QH", "Qinghai", ["Xining", "Haidong", "Golmud"]),
    ("NX", "Ningxia", ["Yinchuan", "Shizuishan", "Wuzhong"]),
    ("XJ", "Xinjiang", ["Urumqi", "Kashgar", "Karamay"]),
]
REGION_COUNT = 1_111

BRANDS = ["Haier", "Midea", "Gree", "Xiaomi", "Huawei", "Lenovo", "TCL", "Hisense", "Oppo", "Vivo"]
SHOP_KINDS = ["Repair Center", "Service Station", "Installation Team", "After-Sales Point"]
SURNAMES = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
    "Hu",
    "Guo",
    "He",
    "Lin",
    "Gao",
    "Luo",
]
GIVEN = [
    "Wei",
    "Fang",
    "Na",
    "Min",
    "Jing",
    "Li",
    "Qiang",
    "Lei",
    "Jun",
    "Yang",
    "Yong",
    "Yan",
    "Jie",
    "Tao",
    "Ming",
    "Chao",
    "Xiu",
    "Xia",
    "Hui",
    "Ping",
]
CUSTOMER_TAGS = ["new", "vip", "appliance", "phone", "repeat", "student", "enterprise", "wechat"]


def demo_tenant_get() -> Tenant | None:
    return Tenant.objects.filter(slug=DEMO_SLUG).first()


def demo_tenant_ensure() -> tuple[Tenant, bool]:
    """The demo tenant, created with its default channels and first admin if missing."""
    tenant = demo_tenant_get()
    if tenant is not None:
        return tenant, False
    tenant = tenant_create(
        slug=DEMO_SLUG,
        name=DEMO_NAME,
        admin_email=DEMO_ADMIN_EMAIL,
        admin_password=DEMO_PASSWORD,
    )
    return tenant, True


def demo_logins(tenant: Tenant) -> list[DemoLogin]:
    """Every demo user of the tenant (all have DEMO_DOMAIN addresses), in the order of the roles.

    Later apps' seed steps may add demo users of their own (a second finance user for
    maker-checker); they are found here too, so `rundemo` prints them as well.
    """
    notes = {username: note for username, _, note in DEMO_USERS}
    memberships = (
        Membership.objects.for_tenant(tenant)
        .filter(user__email__iendswith=f"@{DEMO_DOMAIN}")
        .select_related("user")
    )
    rows = sorted(
        memberships,
        key=lambda m: (Role.values.index(m.role), m.user.get_username()),
    )
    return [
        DemoLogin(
            username=m.user.get_username(),
            password=DEMO_PASSWORD,
            role=m.role,
            where="portal" if m.role in PORTAL_ROLES else "console",
            note=notes.get(m.user.get_username(), ""),
        )
        for m in rows
    ]


def _phone(rng) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


def _bulk_missing(ctx: DemoContext, model, rows, *, label: str) -> str:
    """Insert the rows whose code is not there yet, in chunks; report created and present."""
    existing = set(model.objects.for_tenant(ctx.tenant).values_list("code", flat=True))
    missing = [row for row in rows if row.code not in existing]
    with transaction.atomic():
        for start in range(0, len(missing), CHUNK):
            model.objects.bulk_create(missing[start : start + CHUNK])
        if missing:
            audit_record(
                tenant=ctx.tenant,
                actor=ctx.actor,
                action="demo.seed",
                object_type=model._meta.label_lower,
                note=f"seed_demo loaded {len(missing)} {label} in bulk",
            )
    return f"{label}: {len(missing)} created, {len(rows) - len(missing)} already there"


@demo_step(order=10)
def seed_business_units(ctx: DemoContext) -> str:
    rows = [BusinessUnit(tenant=ctx.tenant, code=code, name=name) for code, name in BUSINESS_UNITS]
    return _bulk_missing(ctx, BusinessUnit, rows, label="business units")


def _region_tree() -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(code, name) of provinces; (code, name, parent) of cities and of service zones."""
    provinces = [(code, name) for code, name, _ in PROVINCES]
    cities = [
        (f"{code}-{n:02d}", city, code)
        for code, _, names in PROVINCES
        for n, city in enumerate(names, start=1)
    ]
    zone_total = REGION_COUNT - len(provinces) - len(cities)
    per_city, extra = divmod(zone_total, len(cities))
    zones = []
    for index, (city_code, city, _) in enumerate(cities):
        for n in range(1, per_city + (1 if index < extra else 0) + 1):
            zones.append((f"{city_code}-{n:02d}", f"{city} service zone {n:02d}", city_code))
    return provinces, cities, zones


@demo_step(order=11)
def seed_regions(ctx: DemoContext) -> str:
    provinces, cities, zones = _region_tree()
    reports = []
    parents: dict[str, int] = {}
    for level, rows in (("provinces", provinces), ("cities", cities), ("zones", zones)):
        objs = [
            Region(
                tenant=ctx.tenant,
                code=row[0],
                name=row[1],
                parent_id=parents[row[2]] if len(row) == 3 else None,
            )
            for row in rows
        ]
        reports.append(_bulk_missing(ctx, Region, objs, label=f"regions ({level})"))
        # Children point at their parent by id, so read the ids back after each level.
        parents = dict(
            Region.objects.for_tenant(ctx.tenant)
            .filter(code__in=[row[0] for row in rows])
            .values_list("code", "id")
        )
    return "; ".join(reports)


def _zones(ctx: DemoContext) -> list[tuple[int, str]]:
    """(id, city name) of every service zone: merchants and customers live in zones."""
    _, cities, zones = _region_tree()
    city_of = {code: city for code, city, _ in cities}
    zone_city = {code: city_of[parent] for code, _, parent in zones}
    ids = dict(
        Region.objects.for_tenant(ctx.tenant)
        .filter(code__in=zone_city.keys())
        .values_list("code", "id")
    )
    return [(ids[code], zone_city[code]) for code, _, _ in zones]


def _person(rng) -> str:
    return (
        f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}{rng.choice(['', rng.choice(GIVEN).lower()])}"
    )


@demo_step(order=12)
def seed_merchants(ctx: DemoContext) -> str:
    rng = ctx.rng("merchants")
    zones = _zones(ctx)
    # M00002 and M00003 serve demo-regional's provinces, so their pages have shops at any size
    # (zones sit two levels below their province).
    city_of = dict(zones)
    regional_zone = {
        n: Region.objects.for_tenant(ctx.tenant)
        .filter(parent__parent__code=code)
        .order_by("code")
        .values_list("pk", flat=True)
        .first()
        for n, code in zip((2, 3), REGIONAL_REGIONS, strict=True)
    }
    merchants = []
    for n in range(1, ctx.size.merchants + 1):
        zone_id, city = rng.choice(zones)  # drawn always: the other merchants stay as they were
        if regional_zone.get(n):
            zone_id = regional_zone[n]
            city = city_of[zone_id]
        merchants.append(
            Merchant(
                tenant=ctx.tenant,
                code=f"M{n:05d}",
                name=f"{city} {rng.choice(BRANDS)} {rng.choice(SHOP_KINDS)}",
                region_id=zone_id,
                is_active=n == 1 or rng.random() > 0.03,  # a few closed shops; M00001 is open
            )
        )
    report = _bulk_missing(ctx, Merchant, merchants, label="merchants")

    merchant_ids = dict(Merchant.objects.for_tenant(ctx.tenant).values_list("code", "id"))
    staff = []
    low, high = ctx.size.staff_per_merchant
    for merchant in merchants:
        for n in range(1, rng.randint(low, high) + 1):
            staff.append(
                MerchantStaff(
                    tenant=ctx.tenant,
                    code=f"{merchant.code}-{n:02d}",
                    name=_person(rng),
                    merchant_id=merchant_ids[merchant.code],
                    phone=_phone(rng),
                )
            )
    return f"{report}; {_bulk_missing(ctx, MerchantStaff, staff, label='staff')}"


@demo_step(order=13)
def seed_customers(ctx: DemoContext) -> str:
    rng = ctx.rng("customers")
    zones = _zones(ctx)
    # A few phones and devices shared by many accounts: the fraud rules of later issues
    # (one person, many accounts) have something to find.
    shared_phones = [_phone(rng) for _ in range(20)]
    shared_devices = [f"device-farm-{n}" for n in range(20)]
    rows = []
    for n in range(1, ctx.size.customers + 1):
        registered = ctx.today - timedelta(days=rng.randint(0, 3 * 365))
        last_order = None
        if rng.random() < 0.8:
            last_order = registered + timedelta(days=rng.randint(0, (ctx.today - registered).days))
        phone = rng.choice(shared_phones) if rng.random() < 0.02 else _phone(rng)
        device = rng.choice(shared_devices) if rng.random() < 0.03 else f"device-{n}-{rng.random()}"
        rows.append(
            Customer(
                tenant=ctx.tenant,
                code=f"C{n:07d}",
                name=_person(rng),
                registered_on=registered,
                region_id=rng.choice(zones)[0],
                tags=sorted(rng.sample(CUSTOMER_TAGS, rng.randint(0, 3))),
                last_order_on=last_order,
                phone_fingerprint=fingerprint(phone),
                device_fingerprint=fingerprint(device),
            )
        )
    return _bulk_missing(ctx, Customer, rows, label="customers")


PORTAL_TEAM = 4  # staff of the portal merchant, whatever the size drew for it


@demo_step(order=14)
def seed_portal_team(ctx: DemoContext) -> str:
    """The portal merchant (demo-merchant-admin's, demo-staff's) gets a team of several, so its
    portal has colleagues to compare with and send points to; the size may have drawn two."""
    rng = ctx.rng("portal-team")
    merchant = Merchant.objects.for_tenant(ctx.tenant).get(code=PORTAL_MERCHANT)
    rows = [
        MerchantStaff(
            tenant=ctx.tenant,
            code=f"{PORTAL_MERCHANT}-{n:02d}",
            name=_person(rng),
            merchant=merchant,
            phone=_phone(rng),
        )
        for n in range(1, PORTAL_TEAM + 1)
    ]
    return _bulk_missing(ctx, MerchantStaff, rows, label=f"{PORTAL_MERCHANT} staff")


@demo_step(order=20)
def seed_users(ctx: DemoContext) -> str:
    """One user per role through user_create, so memberships and guardian grants are real."""
    tenant, actor = ctx.tenant, ctx.actor
    created, present = [], []
    for username, role, _note in DEMO_USERS:
        if User.objects.filter(username=username).exists():
            present.append(username)
            continue
        scope = {}
        if role == Role.BU_ADMIN:
            scope["business_unit"] = BusinessUnit.objects.for_tenant(tenant).get(code="AFTERSALES")
        if role == Role.REGIONAL_OPERATOR:
            scope["regions"] = list(
                Region.objects.for_tenant(tenant).filter(code__in=REGIONAL_REGIONS)
            )
        if role in PORTAL_ROLES:
            scope["merchant"] = Merchant.objects.for_tenant(tenant).get(code=PORTAL_MERCHANT)
        if role == Role.MERCHANT_STAFF:
            scope["staff"] = MerchantStaff.objects.for_tenant(tenant).get(code=PORTAL_STAFF)
        user_create(
            tenant=tenant,
            actor=actor,
            username=username,
            email=username if "@" in username else f"{username}@{DEMO_DOMAIN}",
            password=DEMO_PASSWORD,
            role=role,
            first_name=role.label.split(" (")[0],
            **scope,
        )
        created.append(username)
    ours = {username for username, _, _ in DEMO_USERS}
    ctx.logins.extend(login for login in demo_logins(tenant) if login.username in ours)
    return f"users: {len(created)} created, {len(present)} already there"
