"""The one name of setuptools' deprecated `pkg_resources` that Ray's tests import
(`parse_version`), from `packaging`, for environments without setuptools."""

from packaging.version import parse as parse_version

__all__ = ["parse_version"]
