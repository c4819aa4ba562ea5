from research.cli import app

app(prog_name="qlab")
