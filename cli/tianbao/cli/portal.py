"""`tianbao serve` and `tianbao portal password|links`: the collection portal's commands (the
work is `tianbao.portal`'s). Registered on the app by `register`. The web framework and the
server are imported only when `serve` runs, so other commands start as fast as before.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from tianbao.errors import UserError

if TYPE_CHECKING:
    from tianbao.collection.folder import Collection

LINKS_FILE = "网上报送链接"
# The file holds working links (the ledger only their digests): said each time it is written.
LINKS_CAUTION = ("文件中的链接可以直接打开各单位的页面并替它报送：不要放进备份、共享文件夹或收集文件夹的副本，"
                 "链接发出后请删除这个文件。链接遗失或外泄时，用 tianbao portal links --renew 单位代码 重新生成，"
                 "原链接随即作废。")


def _collection(given: Path | None) -> Collection:
    from tianbao.collection.folder import open_collection

    found = open_collection(given)
    if found is None:
        raise UserError("当前文件夹不是收集文件夹；请进入收集文件夹运行，或指定收集文件夹")
    return found


def print_links(collection: Collection, console: Console, codes: list[str] | None = None, *,
                renew: bool = False, workbooks: dict[str, Path] | None = None) -> Path | None:
    """Issue links to the units (all of the roster's by default) that have none, or renew the
    given ones; print each beside its workbook and write them into 网上报送链接_<time>.csv in the
    collection folder, saying how to keep that file. Returns it, or None when no link was issued."""
    from datetime import datetime

    from tianbao.collection.workflow import collection_form
    from tianbao.io.atomic import write_atomic
    from tianbao.io.tables import csv_text
    from tianbao.portal.access import URL_KEY, issue_links, unit_link

    base = collection.meta().get(URL_KEY)
    if not base:
        raise UserError("还没有设置门户地址：请先运行 tianbao portal url 门户地址（例如 http://192.168.1.10:8000）")
    roster = collection.roster(collection_form(collection, None))
    units = roster.by_code()
    unknown = [code for code in codes or [] if code not in units]
    if unknown:
        raise UserError(f"名单中没有单位 {'、'.join(unknown)}")
    issued = issue_links(collection, codes or list(units), renew=renew)
    if not issued:
        return None
    header = ["单位代码", "单位名称", "填报表", "网上报送链接", "联系人", "电话"]
    rows: list[list[str]] = []
    for item in issued:
        unit = units[item.unit]
        workbook = (workbooks or {}).get(item.unit)
        link = unit_link(base, item.token)
        rows.append([unit.code, unit.name, workbook.name if workbook else "", link, unit.contact, unit.phone])
        beside = f"{workbook.name}  " if workbook else ""
        console.print(f"{escape(unit.code)}  {escape(unit.name)}  {escape(beside)}{link}", highlight=False,
                      soft_wrap=True)
    target = collection.root / f"{LINKS_FILE}_{datetime.now().strftime('%Y%m%d-%H%M%S')}.csv"
    write_atomic(target, csv_text(header, rows))
    sent = "请随填报表分别发给各单位" if workbooks else "请分别发给各单位"
    console.print(f"网上报送链接已保存在 {escape(str(target))}：{sent}，不要外传。{LINKS_CAUTION}", highlight=False)
    return target


def _secret(prompt: str) -> str:
    """A password typed unseen at a terminal, or one line of piped input (a script's setup),
    without getpass's English warning about echoing."""
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, hide_input=True))
    return sys.stdin.readline().rstrip("\r\n")


def _check_address(host: str, port: int) -> None:
    """The address can be listened on: said in Chinese here rather than by the server's English."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UserError(f"无法识别监听地址 {host}") from exc
    family, _type, _proto, _name, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(address)
        except OSError as exc:
            raise UserError(f"无法在 {host}:{port} 上启动门户（端口已被占用，或这台电脑没有这个地址）；"
                            "请用 --port 换一个端口") from exc


def register(app: typer.Typer, run: Callable[[Callable[[], int | None]], None], console: Console) -> None:
    """Add serve and portal to the `tianbao` command."""
    portal = typer.Typer(help="网上报送门户的设置：审核人员密码、各单位的专用链接。", no_args_is_help=True)
    app.add_typer(portal, name="portal")

    @portal.command("password")
    def password_command(
        folder: Annotated[Path | None, typer.Argument(help="收集文件夹；在收集文件夹中运行时可省略")] = None,
    ) -> None:
        """设置审核人员登录门户的密码（输入两次；台账中只保存其 argon2 散列值）。

        例：tianbao portal password 2025年报/
        """

        def action() -> None:
            from tianbao.portal.access import set_password

            collection = _collection(folder)
            password = _secret("审核密码")
            if password != _secret("再输入一次"):
                raise UserError("两次输入的密码不一致，没有设置")
            set_password(collection, password)
            console.print("已设置审核密码。", highlight=False)

        run(action)

    @portal.command("url")
    def url_command(
        address: Annotated[str, typer.Argument(help="各单位访问门户的地址，例如 http://192.168.1.10:8000")],
        folder: Annotated[Path | None, typer.Argument(help="收集文件夹；在收集文件夹中运行时可省略")] = None,
    ) -> None:
        """记下各单位访问门户的地址；此后 tianbao distribute 在每份填报表旁列出该单位的专用链接。

        例：tianbao portal url http://192.168.1.10:8000
        """

        def action() -> None:
            from tianbao.portal.access import URL_KEY, check_base_url

            collection = _collection(folder)
            with collection.ledger() as ledger:
                ledger.set_meta({URL_KEY: check_base_url(address)})
            console.print(f"门户地址：{escape(check_base_url(address))}", highlight=False)

        run(action)

    @portal.command("links")
    def links_command(
        folder: Annotated[Path | None, typer.Argument(help="收集文件夹；在收集文件夹中运行时可省略")] = None,
        renew: Annotated[
            list[str] | None, typer.Option("--renew", help="为这个单位（代码）重新生成链接，原链接随即作废；可重复")
        ] = None,
    ) -> None:
        """为还没有链接的单位生成网上报送专用链接，显示并保存到收集文件夹中的“网上报送链接_时间.csv”。

        链接只在生成时显示一次；遗失或外泄时用 --renew 重新生成。
        例：tianbao portal links --renew A01
        """

        def action() -> None:
            collection = _collection(folder)
            if print_links(collection, console, renew or None, renew=bool(renew)) is None:
                console.print("所有单位都已有链接；遗失或外泄的链接可用 --renew 单位代码 重新生成。", highlight=False)

        run(action)

    @app.command("serve")
    def serve_command(
        folder: Annotated[Path | None, typer.Argument(help="收集文件夹；在收集文件夹中运行时可省略")] = None,
        host: Annotated[
            str, typer.Option("--host", help="监听的地址；让本单位网络中的其他电脑访问时用 0.0.0.0")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="端口", min=1, max=65535)] = 8000,
        jobs: Annotated[int, typer.Option("--jobs", "-j", help="同时读取上传文件的进程数", min=1, max=64)] = 2,
        limit: Annotated[
            list[str] | None,
            typer.Option("--limit", metavar="名称=数值",
                         help="调整安全限制，与 tianbao import 相同；上传文件的大小上限即 max_file_bytes"),
        ] = None,
        certificate: Annotated[
            Path | None,
            typer.Option("--certificate", help="HTTPS 证书文件（PEM）；与 --key 一起使用时门户以 HTTPS 提供"),
        ] = None,
        key: Annotated[Path | None, typer.Option("--key", help="HTTPS 证书的私钥文件（PEM）")] = None,
        previous: Annotated[
            Path | None,
            typer.Option("--previous", help="上年度报告 JSON 文件夹或上年度收集文件夹：上传时即核对跨年度延续的数字"),
        ] = None,
    ) -> None:
        """启动网上报送门户：各单位用专用链接上传填报表并立即看到校验结果，审核人员登录后查看收集进度、审核、汇总。

        先用 tianbao portal password 设置审核密码，用 tianbao portal url 和 tianbao portal links 生成各单位的链接。
        例：tianbao serve 2025年报/ --host 0.0.0.0 --port 8000
        """

        def action() -> None:
            import os

            from tianbao.collection.workflow import collection_form, load_previous_option
            from tianbao.portal.access import URL_KEY, password_hash
            from tianbao.stages.pool import START_METHOD_VARIABLE
            from tianbao.workbook.limits import limits_from

            collection = _collection(folder)
            if (certificate is None) != (key is None):
                raise UserError("--certificate 和 --key 需要一起给出")
            for given in (certificate, key):
                if given is not None and not given.is_file():
                    raise UserError(f"找不到文件：{given}")
            if password_hash(collection) is None:
                raise UserError("还没有设置审核密码：请先运行 tianbao portal password")
            definition = collection_form(collection, None)
            last_year = load_previous_option(definition, previous, collection.year)
            _check_address(host, port)
            # Workers are spawned, as on Windows: forking a server that runs threads is unsafe.
            os.environ.setdefault(START_METHOD_VARIABLE, "spawn")
            import uvicorn

            from tianbao.portal.app import Settings, create_app

            https = certificate is not None
            settings = Settings(collection, definition, limits_from(limit or []), jobs=jobs,
                                previous=last_year, https=https)
            app = create_app(settings)
            shown = f"{'https' if https else 'http'}://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
            console.print(f"网上报送门户已启动：{shown}/login（审核人员登录）。按 Ctrl+C 停止。", highlight=False)
            if not collection.meta().get(URL_KEY):
                console.print("还没有设置门户地址：另开一个窗口运行 tianbao portal url 门户地址，"
                              "再运行 tianbao portal links", highlight=False)
            # No access log: a unit's link (its token) is in the path of every request it makes.
            uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False,
                        ssl_certfile=str(certificate) if certificate else None, ssl_keyfile=str(key) if key else None)

        run(action)
