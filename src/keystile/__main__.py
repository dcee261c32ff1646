from keystile.cli import app

app()
