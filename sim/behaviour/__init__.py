"""The behavioural equations: pure functions over arrays of customers, one formula and one reference each.

``value`` (delivered value and the barriers to leaving), ``satisfaction``
(service and expectation-disconfirmation), ``complaints`` (voice and
recovery), ``trust``, ``word_of_mouth``, ``choice`` (who reconsiders, the
multinomial logit), ``brand``, ``segments`` (Dick & Basu) and
``accounting`` (spend, serving cost, discounting, lifetime value), with
``chances`` (independent chances taken a number of times), which trust and
choice share. Nothing here imports the rest of the package, draws a random number or does I/O:
draws are made by the caller and passed in, which is what keeps one customer
and a million customers on the same code. Each equation a customer's month
calls runs as it is on arrays of customers and, compiled into the engine's
one pass over them, on one customer's numbers (``compiled.jitable``).
"""
