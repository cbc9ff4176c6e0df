from briefer.cli import run

run()
