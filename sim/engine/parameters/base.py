"""What every parameter group shares: strict validation, and its table of defaults and sources."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

MAX_FIRMS = 100
"""The most firms a market may have."""
MAX_PERIODS = 10_000
"""The longest horizon a run may have, in periods (833 years of months): the bound of ``Market.periods``, and of
every horizon a study derives from data, such as the periods of a cohort retention table."""
MAX_MONEY = 1_000_000.0
"""The most any amount of money a scenario sets may be (a price, a fee, a spend or cost per customer-month, a perk).

The default price is 30 a month: a million is far beyond any market the
model stands for, and keeps every sum a run makes (revenue, profit,
discounted profit over 10,000 periods of 50 million customers) a finite
number.
"""


class Parameters(BaseModel):
    """A group of parameters: unknown fields, nan and inf are refused, and so is any invalid assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def parameter_table(group: type[BaseModel]) -> str:
    """A markdown table of a parameter group: each field, its default and where it comes from."""
    lines = ["| parameter | default | meaning and source |", "|---|---|---|"]
    for name, field in group.model_fields.items():
        if field.default_factory is not None:
            continue
        default = field.default
        shown = (
            ", ".join(f"{v:g}" for v in default)
            if isinstance(default, tuple)
            else (f"{default:g}" if isinstance(default, float) else str(default))
        )
        lines.append(f"| `{name}` | {shown} | {field.description} |")
    return "\n".join(lines)
