"""Short tables of a run's results, for people to read."""

from __future__ import annotations

import pandas as pd


def summary_table(results: pd.DataFrame, *, last_months: int = 12) -> pd.DataFrame:
    """Per firm: final share, annual retention, profit and loyalty mix.

    Rates and means are taken over the last ``last_months`` periods; annual
    retention compounds the mean monthly retention over twelve months.
    Discounted profit is the run's cumulative total.
    """
    last = results[results.period > results.period.max() - last_months]
    final = results[results.period == results.period.max()].set_index("firm")
    by_firm = last.groupby("firm", sort=False)
    monthly_retention = by_firm.retention_rate.mean()
    loyal = final[["true_loyal", "latent_loyal", "spurious_loyal", "not_loyal"]]
    share_of_base = loyal.div(final.customers.where(final.customers > 0), axis=0)
    table = pd.DataFrame(
        {
            "customers": final.customers.astype(int),
            "share %": 100 * final.market_share,
            "annual retention %": 100 * monthly_retention**12,
            "profit / month": by_firm.profit.mean(),
            "discounted profit": final.cumulative_discounted_profit,
            "satisfaction": by_firm.satisfaction.mean(),
            "true loyal %": 100 * share_of_base.true_loyal,
            "spurious %": 100 * share_of_base.spurious_loyal,
        }
    )
    return table.round({"share %": 1, "annual retention %": 1, "profit / month": 0, "discounted profit": 0,
                        "satisfaction": 3, "true loyal %": 1, "spurious %": 1})
