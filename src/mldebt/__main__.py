from mldebt.cli import run

run()
