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
from typing import Any

from tianbao.errors import OfficeError
from tianbao.stages.pool import kill_group, track_helper

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
    `target_format` ("xlsx", "pdf", ...) in `outdir`. Returns the written file.

    LibreOffice runs in its own process group, killed as a whole on timeout (it starts more
    than one process), and registered with the worker pool, which kills it with a worker it
    cuts off. OfficeError messages are Chinese and name no file: they reach the clerk."""
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
            f"-env:UserInstallation={Path(profile).as_uri()}",
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
        group: dict[str, Any] = (
            {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if os.name == "nt" else {"start_new_session": True}
        )
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, **group)
        track_helper(process.pid)
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise OfficeError(f"LibreOffice 转换超时（超过 {timeout:g} 秒）") from exc
        finally:
            if process.poll() is None:
                kill_group(process.pid)
                process.wait()
            track_helper(0)
    target = outdir / f"{source.stem}.{target_format}"
    if returncode != 0 or not target.is_file():
        raise OfficeError("LibreOffice 无法打开或转换这个文件（可能已损坏或设置了密码）")
    return target
