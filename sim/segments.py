"""Dick & Basu (1994) loyalty segments: relative attitude x repeat patronage.

Attitude is high when the customer trusts its current firm at least
``attitude_threshold`` and no less than any rival; patronage is high once its
tenure reaches ``patronage_months``. True loyalty is both; latent, attitude
without (yet) patronage; spurious, patronage held by barriers or habit without
attitude; none, neither.
"""

from __future__ import annotations

import numpy as np

TRUE, LATENT, SPURIOUS, NONE = 0, 1, 2, 3
SEGMENT_NAMES = ("true", "latent", "spurious", "none")


def loyalty_segment(own_trust, best_rival_trust, tenure, *, attitude_threshold, patronage_months):
    """Segment code per customer: 0 true, 1 latent, 2 spurious, 3 none.

    Args:
        own_trust: trust in the current firm, 0..1.
        best_rival_trust: highest trust in any other firm (-inf if none).
        tenure: periods with the current firm.
    """
    attitude = (own_trust >= attitude_threshold) & (own_trust >= best_rival_trust)
    patronage = tenure >= patronage_months
    return np.where(attitude, np.where(patronage, TRUE, LATENT), np.where(patronage, SPURIOUS, NONE)).astype(np.int8)
