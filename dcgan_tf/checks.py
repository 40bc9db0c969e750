"""The two checks of a flag's value that every verb uses, so a bad value fails before any work
with a ``ValueError`` naming the flag. No TensorFlow: scripts validate flags with them at once."""


def check_choice(flag: str, value, choices) -> None:
    """ValueError naming ``--flag`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"--{flag} must be one of {', '.join(map(str, choices))}; got {value!r}")


def check_range(flag: str, value: int, low: int, high: int | None = None) -> None:
    """ValueError naming ``--flag`` unless low <= value (<= high)."""
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"--{flag} must be {bound}, got {value}")
