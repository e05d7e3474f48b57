"""Floor 0 of the house: what every floor above may use.

``errors`` (the one-line input error and its exit code), ``seeding`` (named,
order-independent random streams), ``progress`` (bars that can be interrupted)
and ``io`` (the one atomic writer). Nothing here imports from ``sim`` above it.
"""
