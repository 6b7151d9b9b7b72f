"""Demand simulation of a region: do WaitLess's rankings help everyone? (issue #17)

``scenario`` (origins, travel, habits, staffing, patients) and ``calibration`` (where the numbers
come from), ``queue`` (the discrete-event core), ``model`` (one run through the real ranking),
``metrics`` (rows, oscillation, summary), ``plots`` (SVG), ``sweep`` (policy x uptake x seed in
parallel) and ``cli`` (``waitless simulate demand``). See ``docs/herding.md``.
"""
