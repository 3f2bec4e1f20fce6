"""Build of the compiled PII scanner core (everything else is in pyproject.toml).

The extension is optional: where it cannot be built (no C compiler) the package installs
without it and the scanner runs its pure-Python path, which gives the same findings.
"""

from pathlib import Path

from setuptools import Extension, setup

NATIVE = Path("src/aicenter/exchange/pii/native")

setup(
    ext_modules=[
        Extension(
            "aicenter.exchange.pii._native",
            sources=sorted(str(p) for p in NATIVE.glob("*.c")),
            depends=[str(NATIVE / "native.h")],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
