"""The two checks of a flag's value that every verb uses, so a bad value fails before any work
with a ``ValueError`` naming the flag. No TensorFlow: scripts validate flags with them at once."""


def check_choice(flag: str, value, choices) -> None:
    """ValueError naming ``--flag`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"--{flag} must be one of {', '.join(map(str, choices))}; got {value!r}")


def check_range(flag: str, value: float, low: float, high: float | None = None, *,
                open_low: bool = False, open_high: bool = False, note: str = "") -> None:
    """ValueError naming ``--flag`` unless ``value`` lies between ``low`` and ``high``.

    Args:
        flag: the flag's name, without ``--``.
        value: an int or a float; NaN is never in range.
        low, high: the bounds, each included unless ``open_low`` / ``open_high``; ``high``
            None means no upper bound.
        note: said in brackets after the range, e.g. what 0 means.

    The message writes the range as ``>= 1``, ``> 0``, ``in [0, 64]``, ``in (0, 10)`` or
    ``in [0, 1)``, e.g. ``--tolerance must be in [0, 1), got 1.0``.
    """
    above = low < value if open_low else low <= value
    below = high is None or (value < high if open_high else value <= high)
    if above and below:
        return
    if high is None:
        bound = f"{'>' if open_low else '>='} {_number(low)}"
    else:
        bound = (f"in {'(' if open_low else '['}{_number(low)}, {_number(high)}"
                 f"{')' if open_high else ']'}")
    raise ValueError(f"--{flag} must be {bound}{f' ({note})' if note else ''}, got {value}")


def _number(bound: float) -> str:
    """``bound`` as written in a range: 64.0 as 64, 0.5 as 0.5."""
    return str(int(bound)) if isinstance(bound, float) and bound.is_integer() else str(bound)
