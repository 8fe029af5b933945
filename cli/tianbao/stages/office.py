"""LibreOffice headless: the real spreadsheet client used for conversion and recalculation.

A private profile with OOXMLRecalcMode=0 ("always recalculate") makes LibreOffice
recompute every formula of an .xlsx on load, as a WPS or LibreOffice user's copy would
before it is saved and sent back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tianbao.errors import OfficeError

_PROFILE_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
           xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <item oor:path="/org.openoffice.Office.Calc/Formula/Load">
    <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop>
    <prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop>
  </item>
</oor:items>
"""


def find_soffice() -> str | None:
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def convert(source: Path, target_format: str, outdir: Path, timeout: float = 180) -> Path:
    """Open `source` in LibreOffice headless (recalculating formulas) and save it as
    `target_format` ("xlsx", "pdf", ...) in `outdir`. Returns the written file."""
    soffice = find_soffice()
    if soffice is None:
        raise OfficeError("未找到 LibreOffice（soffice），无法转换文件")
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tianbao-lo-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_PROFILE_XCU, encoding="utf-8")
        filter_name = {"xlsx": "xlsx:Calc MS Excel 2007 XML"}.get(target_format, target_format)
        command = [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            filter_name,
            "--outdir",
            str(outdir),
            str(source),
        ]
        env = {**os.environ, "HOME": profile}
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, env=env, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise OfficeError(f"LibreOffice 转换 {source.name} 超时") from exc
    target = outdir / f"{source.stem}.{target_format}"
    if result.returncode != 0 or not target.is_file():
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["无输出"]
        raise OfficeError(f"LibreOffice 无法转换 {source.name}：{detail[0]}")
    return target
