from tianbao.cli import entry

entry()
