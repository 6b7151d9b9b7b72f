"""The one compiled module (waitless.ranking._fastcore); everything else is in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and the ranking runs
its Python loop (slower, same answers; see waitless/ranking/core.py).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(ext_modules=cythonize(
    [Extension("waitless.ranking._fastcore", ["waitless/ranking/_fastcore.pyx"],
               # No fused multiply-add: the loop must round exactly as Python does.
               extra_compile_args=["-O2", "-ffp-contract=off"], optional=True)],
    compiler_directives={"language_level": "3"}))
