"""The form definition: spec models (`spec`), the query object `Form` (`query`), the rule
grammar (`grammar`), loading with the cross-check and the built-in forms (`load`)."""

from tianbao.form.load import builtin_form_paths, load_form, parse_form, resolve_form
from tianbao.form.query import Form, InputCell

__all__ = ["Form", "InputCell", "builtin_form_paths", "load_form", "parse_form", "resolve_form"]
