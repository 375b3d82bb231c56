"""Data with a known truth: every customer's spells with each firm, its traits, and cohort tables.

``customer_histories(scenario, seed)`` runs one market month by month and
returns what a researcher would have from a firm's customer database, and
more: each spell a customer spent with a firm (start, end or censored, why
it ended, spend per month, the failures, complaints and resolutions it
lived through), every customer's traits (the true sensitivities, review
habit, switching effort and segment that produced its behaviour), the
scenario's events, and per firm and month of joining the cohort's survival.
An estimator of churn or lifetime value can be tested against it: the
truth that generated the data is in ``customers``, and the effect of a lever
is the difference between two exports on the same seed.

Months are counted from the first reported month (0); a spell that began
during the burn-in starts before it (``start_month`` < 0,
``left_truncated``), as a customer database opened at month 0 would see it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.engine.model import LoyaltyModel
from sim.engine.parameters import Scenario
from sim.engine.population import Customers

END_REASONS = ("censored", "rival", "no purchase", "outside reasons")
"""Why a spell ended: still running at the end of the run, left for another firm, left to buy from no one, or left
the market for reasons outside it (the firm's ``defection_hazard``)."""

SPELL_COLUMNS = {
    "customer": ("the customer's row, as in the customers table", "index"),
    "spell": ("the customer's spells numbered from 0, in order", "index"),
    "firm": ("the firm the customer bought from", "firm name"),
    "start_month": ("first month with the firm; negative when the spell began before month 0", "month"),
    "end_month": ("last month with the firm (the last month of the run when censored)", "month"),
    "months": ("months with the firm observed from month 0 (from start_month when it is not negative)", "months"),
    "tenure_months": ("months with the firm in all, burn-in included", "months"),
    "left_truncated": ("the spell began before month 0: it is seen only from month 0", "boolean"),
    "censored": ("the spell was still running at the end of the run", "boolean"),
    "end_reason": ("why the spell ended: " + ", ".join(END_REASONS), "category"),
    "next_firm": ("the firm joined on leaving (empty for no purchase, or when censored)", "firm name"),
    "spend_per_month": ("mean bill per month observed, the firm's price times the volume bought", "currency / month"),
    "revenue": ("bills paid to the firm in the months observed", "currency"),
    "failures": ("service failures lived through in the months observed", "count"),
    "complaints": ("complaints made in the months observed", "count"),
    "recovered": ("complaints the firm resolved", "count"),
    "exit_fee_paid": ("exit fee paid on leaving", "currency"),
    "referred": ("the customer joined because a recommendation made it reconsider (joined during the run)", "boolean"),
}
"""The spells table's columns: meaning and unit (the data dictionary)."""

COHORT_COLUMNS = {
    "firm": ("the firm joined", "firm name"),
    "cohort_month": (
        "first month with the firm of the cohort's customers (chosen at the end of the month before)",
        "month",
    ),
    "age_months": ("months since joining", "months"),
    "joined": ("customers who joined the firm that month", "count"),
    "active": ("of them, still with the firm age_months later, without a break", "count"),
    "retained": ("active over joined", "share"),
}
"""The cohort table's columns: meaning and unit."""

EVENT_COLUMNS = {
    "month": ("month from which the event applies", "month"),
    "firm": ("the firm it changes, or all", "firm name"),
    "lever": ("the firm lever it changes", "lever name"),
    "to": ("the lever's new value (or empty when given as a relative change)", "lever's unit"),
    "by": ("relative change of the lever (or empty)", "share"),
    "lasting_months": ("months the change lasts (empty: to the end)", "months"),
    "note": ("what the event stands for", "text"),
}
"""The events table's columns: meaning and unit."""


@dataclass
class Histories:
    """One market's customer histories: tidy tables with a data dictionary."""

    scenario: Scenario
    seed: int
    spells: pd.DataFrame
    customers: pd.DataFrame
    cohorts: pd.DataFrame
    events: pd.DataFrame
    event_log: list[str]

    def dictionary(self) -> pd.DataFrame:
        """Every column of every table: its meaning and unit."""
        traits = {row["array"]: (row["meaning"], row["unit"]) for row in Customers.array_table()}
        customer_columns = {
            "customer": ("the customer's row", "index"),
            **{name: traits[name] for name in self.customers.columns if name in traits},
            "segment": ("spend segment", "heavy, medium or light"),
            "firm_at_start": ("the firm bought from at month 0 (empty: no one)", "firm name"),
        }
        rows = [
            (table, column, *columns[column])
            for table, columns in (
                ("spells", SPELL_COLUMNS),
                ("customers", customer_columns),
                ("cohorts", COHORT_COLUMNS),
                ("events", EVENT_COLUMNS),
            )
            for column in columns
        ]
        return pd.DataFrame(rows, columns=["table", "column", "meaning", "unit"])


def customer_histories(scenario: Scenario, seed: int, *, progress: bool = False) -> Histories:
    """Run ``scenario`` once on ``seed``, month by month, and record every customer's spells.

    The run is by the month whatever ``period_months`` says (a period only
    gathers months for reports), so spells and cohorts are in months.
    """
    months = scenario.market.periods * scenario.market.period_months
    market = scenario.market.model_copy(update={"period_months": 1, "periods": months})
    monthly = scenario.model_copy(update={"market": market}, deep=True)
    model = LoyaltyModel(monthly, seed=seed)
    c = model.customers
    names = np.array([f.name for f in model.firms] + [""], dtype=object)
    outside = model.n_firms
    at_start = names[c.firm.astype(np.int64)]
    n = len(c)

    # The open spell of every customer (only meaningful where firm < outside).
    firm_now = c.firm.astype(np.int64)
    start = np.where(firm_now < outside, -c.tenure.astype(np.int64), 0)
    truncated = start < 0  # with the firm before month 0: seen only from month 0
    totals = {k: np.zeros(n) for k in ("revenue", "failures", "complaints", "recovered")}
    referred = np.zeros(n, dtype=bool)
    spell_number = np.zeros(n, dtype=np.int64)
    closed: list[pd.DataFrame] = []

    def close(who: np.ndarray, end: int, reason: np.ndarray, next_firm: np.ndarray, fee: np.ndarray) -> None:
        seen_from = np.maximum(start[who], 0)
        observed = end - seen_from + 1
        closed.append(
            pd.DataFrame(
                {
                    "customer": who,
                    "spell": spell_number[who],
                    "firm": names[firm_now[who]],
                    "start_month": start[who],
                    "end_month": end,
                    "months": observed,
                    "tenure_months": end - start[who] + 1,
                    "left_truncated": truncated[who],
                    "censored": reason == "censored",
                    "end_reason": reason,
                    "next_firm": next_firm,
                    "spend_per_month": totals["revenue"][who] / np.maximum(observed, 1),
                    "revenue": totals["revenue"][who],
                    "failures": totals["failures"][who].astype(np.int64),
                    "complaints": totals["complaints"][who].astype(np.int64),
                    "recovered": totals["recovered"][who].astype(np.int64),
                    "exit_fee_paid": fee,
                    "referred": referred[who],
                }
            )
        )

    for month in tqdm(range(months), desc=f"export {scenario.name}", unit="month", disable=not progress):
        model.step()
        served = c.served_firm.astype(np.int64)
        market = model.market
        with_firm = served < outside
        bill = np.where(with_firm, market.price[served] * c.volume, 0.0)
        totals["revenue"] += bill
        totals["failures"] += c.failed
        totals["complaints"] += c.complained
        totals["recovered"] += c.recovered
        now = c.firm.astype(np.int64)
        left = np.flatnonzero(with_firm & (now != served))
        if left.size:
            forced = c.left_outside[left]
            reason = np.where(forced, "outside reasons", np.where(now[left] == outside, "no purchase", "rival"))
            close(left, month, reason, names[now[left]], c.exit_fee_paid[left].copy())
            spell_number[left] += 1
        joined = np.flatnonzero((now < outside) & (now != served))
        start[joined] = month + 1
        truncated[joined] = False
        referred[joined] = c.referred[joined]
        for total in totals.values():
            total[joined] = 0.0
            total[left] = 0.0
        firm_now = now

    last = months - 1
    open_now = np.flatnonzero(firm_now < outside)
    close(
        open_now,
        last,
        np.full(open_now.size, "censored", dtype=object),
        np.full(open_now.size, "", dtype=object),
        np.zeros(open_now.size),
    )
    spells = pd.concat(closed, ignore_index=True).sort_values(["customer", "spell"], ignore_index=True)
    spells = spells[spells.start_month <= spells.end_month].reset_index(drop=True)  # joined in the last month
    spells["end_reason"] = pd.Categorical(spells.end_reason, categories=END_REASONS)
    return Histories(
        scenario=scenario,
        seed=seed,
        spells=spells,
        customers=_traits(model).assign(firm_at_start=at_start),
        cohorts=cohort_table(spells, months),
        events=_events(scenario),
        event_log=list(model.event_log),
    )


def _traits(model: LoyaltyModel) -> pd.DataFrame:
    c = model.customers
    table = {"customer": np.arange(len(c))}
    for row in Customers.array_table():
        if row["kind"] == "trait" and row["array"] != "segment":
            table[row["array"]] = getattr(c, row["array"])
    table["segment"] = pd.Categorical.from_codes(c.segment, ["heavy", "medium", "light"])
    return pd.DataFrame(table)


def cohort_table(spells: pd.DataFrame, months: int) -> pd.DataFrame:
    """Per firm and month of joining during the run: customers joined, and still with the firm at each age."""
    joined = spells[~spells.left_truncated & (spells.start_month >= 0)]
    rows = []
    for (firm, cohort), group in joined.groupby(["firm", "start_month"], sort=True):
        lasted = (group.end_month - group.start_month + 1).to_numpy()
        for age in range(months - int(cohort)):
            active = int((lasted > age).sum())  # a censored spell lasts to the run's end, beyond every age
            rows.append((firm, int(cohort), age, len(group), active))
    table = pd.DataFrame(rows, columns=["firm", "cohort_month", "age_months", "joined", "active"])
    table["retained"] = table.active / table.joined
    return table


def _events(scenario: Scenario) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "month": e.month,
                "firm": e.firm,
                "lever": e.lever,
                "to": e.to,
                "by": e.by,
                "lasting_months": e.months,
                "note": e.note or "",
            }
            for e in scenario.events
        ],
        columns=list(EVENT_COLUMNS),
    )
