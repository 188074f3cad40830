"""Numbers as people read them in messages."""

from decimal import Decimal


def plain_number(value) -> str:
    """A Decimal without its trailing zeros and never in exponent notation: 50.0 → "50",
    12.50 → "12.5", 0.20 → "0.2". `Decimal.normalize()` alone prints 50.0 as "5E+1"."""
    number = Decimal(str(value)).normalize()
    if number == 0:
        return "0"  # normalize() keeps the sign and exponent of -0.00
    return format(number, "f")
