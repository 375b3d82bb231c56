"""Dick & Basu (1994) loyalty segments: relative attitude x repeat patronage.

Relative attitude is the customer's attitude to a firm against its strongest
alternative, every switching cost aside (fees, points, tier perks, bonds,
effort belong to patronage): high when, choosing between the two with
leaving free, it would pick the firm with at least
``Market.attitude_threshold`` probability (0.5 by default: it likes the firm
best of all the options, buying from no one included). Patronage is high once
tenure reaches ``patronage_months``. True loyalty is both; latent, attitude
without (yet) patronage; spurious, patronage without attitude, held by
barriers or habit; none, neither.
"""

from __future__ import annotations

import numpy as np

from sim.behaviour.compiled import jitable, select

TRUE, LATENT, SPURIOUS, NONE = 0, 1, 2, 3
SEGMENT_NAMES = ("true", "latent", "spurious", "none")


@jitable
def loyalty_segment(prefers_current, tenure, patronage_months):
    """Segment code per customer: 0 true, 1 latent, 2 spurious, 3 none.

    Args:
        prefers_current: boolean, high relative attitude towards the
            current firm (see the module docstring).
        tenure: months with the current firm.
        patronage_months: tenure from which repeat patronage is high.
    """
    patronage = tenure >= patronage_months
    return select(
        prefers_current,
        select(patronage, np.int8(TRUE), np.int8(LATENT)),
        select(patronage, np.int8(SPURIOUS), np.int8(NONE)),
    )
