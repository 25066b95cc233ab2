"""A benchmark figure, with its budget, and the table they make."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Figure:
    name: str
    size: int | None  # interviews in the database, when the figure depends on it
    value: float
    unit: str
    budget: float | None = None  # at most this; None: reported only
    note: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.budget is None else self.value <= self.budget

    def as_json(self) -> dict:
        return {"name": self.name, "size": self.size, "value": round(self.value, 4),
                "unit": self.unit, "budget": self.budget, "met": self.met, "note": self.note}


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def print_table(figures: list[Figure]) -> None:
    rows = [("figure", "interviews", "measured", "budget", "verdict", "note")]
    for f in figures:
        verdict = {None: "report", True: "met", False: "MISSED"}[f.met]
        budget = f"<= {_number(f.budget)} {f.unit}" if f.budget is not None else "-"
        rows.append((f.name, f"{f.size:,}" if f.size else "-", f"{_number(f.value)} {f.unit}",
                     budget, verdict, f.note))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    print()
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])
        if n == 0:
            print("  ".join("-" * w for w in widths) + "  " + "-" * 4)
