from qlab.cli import app

app(prog_name="qlab")
