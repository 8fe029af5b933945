"""`tianbao precheck` (评估预检): check reports the way evaluators will, before publication.

    precheck(form, inputs, Options(...)) -> PrecheckResult     (run.py)
    write_outputs(result, path) / summary_line(result)         (render.py; the terminal tables are
                                                               cli.console.precheck_tables)

Modules: catalogue (findings made from tianbao.precheck_catalogue, the data of
templates/precheck/catalogue.yaml),
config (patterns and thresholds — precheck.yaml; district rule packs — packs/*.yaml),
inputs (reports from JSON, workbooks and published documents), texts and similarity (sentences,
boilerplate, an exact partition index), copying (D1, D2), years (B3, B5), parts (B1, B2, B6,
D3, D4), fees (E1, E2), numbers (C1–C6), deadline (A1), scoring (S1), render.
"""

from tianbao.stages.precheck.render import summary_line, write_outputs
from tianbao.stages.precheck.run import Options, PrecheckResult, precheck

__all__ = ["Options", "PrecheckResult", "precheck", "summary_line", "write_outputs"]
