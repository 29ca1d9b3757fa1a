"""Build the one C extension (kexue.data.shuffle._core); everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "kexue.data.shuffle._core",
            sources=["kexue/data/shuffle/_core.c"],
            extra_compile_args=["-O2"],
        )
    ]
)
