"""One run of a market: its parameters and files, the customers as arrays, one period, the metrics, the model.

``parameters`` (every parameter with its default and source), ``scenario_files``
(TOML scenarios, checked before anything runs), ``population`` (the customer
arrays and each period's draws), ``period`` (one period of customers, on any
block of rows), ``metrics`` (what each firm books and the market records),
``events`` and ``shocks`` (timed and classroom changes to the firms' levers),
``agents`` (Mesa's ``Customer`` and ``Firm``) and ``model`` (``LoyaltyModel``).
"""
