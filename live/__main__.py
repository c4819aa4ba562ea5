from live.cli import live_app

live_app(prog_name="python -m live")
