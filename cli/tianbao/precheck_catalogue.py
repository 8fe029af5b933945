"""The precheck catalogue (templates/precheck/catalogue.yaml): the checks of `tianbao precheck`.

Every check has a stable id, the evaluation criterion it serves, how decidable it is, one of
four levels (错误/警告/提示/无法判断) and a Chinese message template; the precheck only fills
in the values. It is data beside the form definitions, and sits below `findings` so that
`tianbao checks` and docs/校验规则.md list these checks beside the tool's own.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from tianbao.errors import UserError
from tianbao.form.load import DEFAULT_FORM, builtin_form_paths

Severity = Literal["error", "warning", "info", "undetermined"]
SEVERITY_NAMES: dict[str, str] = {"error": "错误", "warning": "警告", "info": "提示", "undetermined": "无法判断"}
SEVERITY_ORDER = {"error": 0, "warning": 1, "undetermined": 2, "info": 3}
DECIDABLE_NAMES = {"Y": "可判定", "P": "疑似（启发式）", "N": "需人工"}


def data_dir() -> Path:
    """templates/precheck beside the built-in form definitions (in the wheel or the checkout)."""
    return builtin_form_paths()[DEFAULT_FORM].parent / "precheck"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckDef(_Strict):
    id: str
    criterion: str
    auto: Literal["Y", "P", "N"]
    severity: Severity
    message: str
    covers: list[str] = []


class ExternalCriterion(_Strict):
    prefix: str
    criterion: str


class Replaced(_Strict):
    """A reader or form finding the precheck drops, and the precheck checks that state it."""

    id: str
    by: list[str]


class ManualItem(_Strict):
    criterion: str
    text: str


class Catalogue(_Strict):
    criteria: dict[str, str]
    checks: list[CheckDef]
    external_criteria: list[ExternalCriterion]
    replaced: list[Replaced] = []
    manual: list[ManualItem]
    _by_id: dict[str, CheckDef] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object) -> None:
        # Looked up for every finding of a batch: made once.
        self._by_id = {c.id: c for c in self.checks}
        dangling = [f"{r.id} → {c}" for r in self.replaced for c in r.by if c not in self._by_id] + [
            r.id for r in self.replaced if not r.by]
        if dangling:
            raise ValueError(f"replaced 引用了不存在的检查：{'、'.join(dangling)}")

    @property
    def replaced_ids(self) -> set[str]:
        return {r.id for r in self.replaced}

    def check(self, check_id: str) -> CheckDef:
        found = self._by_id.get(check_id)
        if found is None:
            raise KeyError(check_id)
        return found

    def knows(self, check_id: str) -> bool:
        return check_id in self._by_id or any(check_id.startswith(e.prefix) for e in self.external_criteria)

    def criterion_of(self, check_id: str) -> str:
        if check_id in self._by_id:
            return self._by_id[check_id].criterion
        return next((e.criterion for e in self.external_criteria if check_id.startswith(e.prefix)), "X")

    def criterion_title(self, check_id: str) -> str:
        """'D2 文字未照抄其他单位': the criterion a check serves, with its name."""
        criterion = self.criterion_of(check_id)
        return f"{criterion} {self.criteria.get(criterion, '')}".strip()


@cache
def load_catalogue() -> Catalogue:
    path = data_dir() / "catalogue.yaml"
    try:
        catalogue = Catalogue.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError, ValueError) as exc:
        raise UserError(f"预检目录文件 {path} 无效：{exc}") from exc
    return catalogue
