from tianbao.cli import app

app(prog_name="tianbao")
