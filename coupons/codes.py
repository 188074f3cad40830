"""Random coupon codes: `secrets` bytes mapped onto an alphabet without look-alike characters.

The mapping runs in C (`bytes.translate`): each random byte below 248 (= 8 x 31) becomes
ALPHABET[byte % 31] and the bytes 248-255 are dropped, so every character is uniform (no modulo
bias) and a million codes take well under a second.
"""

import math
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
MIN_BITS = 40
BITS_PER_CHAR = math.log2(len(ALPHABET))
MIN_LENGTH = math.ceil(MIN_BITS / BITS_PER_CHAR)  # 9 characters = 44.6 bits
DEFAULT_LENGTH = 10  # 49.5 bits: few collisions even among millions of codes in a tenant
MAX_LENGTH = 32
_LIMIT = 256 - 256 % len(ALPHABET)
_TABLE = bytes(ALPHABET[b % len(ALPHABET)].encode()[0] for b in range(256))
_REJECT = bytes(range(_LIMIT, 256))


def random_characters(count: int) -> str:
    """`count` uniformly random characters of ALPHABET."""
    out = bytearray()
    while len(out) < count:
        missing = count - len(out)
        # ~3 % of the bytes are rejected: ask for a little more than needed.
        raw = secrets.token_bytes(missing + missing // 16 + 16)
        out += raw.translate(_TABLE, _REJECT)
    return out[:count].decode()


def generate_codes(count: int, *, length: int = DEFAULT_LENGTH, prefix: str = "") -> list[str]:
    """`count` codes of `length` random characters after `prefix`.

    Not checked for repeats here: among 10,000 codes of 10 characters one repeat has a chance of
    about 1 in 10 million, and the unique index catches it (with any clash with older codes), so
    the chunk's savepoint rolls back and draws again. Checking in Python would cost more than
    all the rare retries together.
    """
    if length < MIN_LENGTH:
        raise ValueError(f"A code needs at least {MIN_LENGTH} random characters.")
    chars = random_characters(count * length)
    codes = [chars[i : i + length] for i in range(0, count * length, length)]
    return [prefix + code for code in codes] if prefix else codes
