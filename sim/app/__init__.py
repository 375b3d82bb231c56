"""The classroom: a market on the projector, its levers in the teacher's hands (``loyalty app``).

Mesa's example triad, kept apart: ``model`` (the classroom model and its
shocks), ``explain`` (one customer's decision, usable from a notebook
without a web server), ``figures`` (the live plots and the customer grid)
and ``page`` (the Solara page). Only ``page`` imports Solara.
"""
