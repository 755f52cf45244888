"""The load report: what a load read, what it decided, and what it could not resolve.

Every loader fills one, so `python -m cdss.knowledge check` and the INFO log show the same
figures, and tests can read them as numbers rather than parse text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# How many unresolved names a rendered report lists before it only counts them.
SHOWN_NAMES = 12


@dataclass
class LoadReport:
    """Counts by section ("raw", "merging", "names", ...), notes, and unresolved names.

    `counts[section][item]` is an int; sections and items print in insertion order.
    `unresolved[what]` lists names that did not resolve (e.g. DDInter names without an
    ATC code); `notes` are sentences a user should read (fallbacks, policies).
    """

    name: str
    content_hash: str = ""
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unresolved: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def add(self, section: str, items: Mapping[str, int]) -> None:
        """Add (or extend) one section of counts."""
        self.counts.setdefault(section, {}).update({k: int(v) for k, v in items.items()})

    def note(self, text: str) -> None:
        self.notes.append(text)

    def missing(self, what: str, names: Iterable[str]) -> None:
        """Record names that did not resolve, sorted; an empty list records nothing."""
        found = tuple(sorted(set(names)))
        if found:
            self.unresolved[what] = found

    def get(self, section: str, item: str) -> int:
        return self.counts[section][item]

    def render(self) -> str:
        """The report as the `check` command prints it."""
        lines = [f"{self.name}: OK, hash {self.content_hash}"]
        for section, items in self.counts.items():
            text = ", ".join(f"{item.replace('_', ' ')} {value:,}" for item, value in items.items())
            lines.append(f"  {section}: {text}")
        for what, names in self.unresolved.items():
            shown = "; ".join(names[:SHOWN_NAMES])
            more = f"; ... ({len(names) - SHOWN_NAMES} more)" if len(names) > SHOWN_NAMES else ""
            lines.append(f"  unresolved {what} ({len(names):,}): {shown}{more}")
        lines.extend(f"  note: {text}" for text in self.notes)
        return "\n".join(lines)
