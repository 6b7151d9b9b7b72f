"""The compiled modules (waitless.ranking._fastcore, routing._estimate); everything else is in
pyproject.toml.

Both are optional: without a C compiler the install still succeeds, the ranking runs its Python
loop (slower, same answers: waitless/ranking/core.py) and the straight-line estimate its numpy
version (slower; numpy's arcsin may differ in the last bit: routing/estimate.py).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(ext_modules=cythonize(
    [Extension("waitless.ranking._fastcore", ["waitless/ranking/_fastcore.pyx"],
               # No fused multiply-add: the loop must round exactly as Python does.
               extra_compile_args=["-O2", "-ffp-contract=off"], optional=True),
     Extension("routing._estimate", ["routing/_estimate.pyx"],
               extra_compile_args=["-O2", "-ffp-contract=off"], optional=True)],
    compiler_directives={"language_level": "3"}))
