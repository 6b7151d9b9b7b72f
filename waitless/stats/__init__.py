"""Commissioners' statistics: NHS England monthly A&E attendances and the shift to minor care.

Modules: ``nhse`` (parse and import the monthly provider CSVs), ``schema`` (PostgreSQL tables),
``config`` (the region's ``[stats]`` table), ``shift`` (share of "other" attendances, baseline
versus period), ``cli`` (``waitless stats ...``), ``errors``.
"""
