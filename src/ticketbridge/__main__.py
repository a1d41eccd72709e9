from ticketbridge.cli.main import app

app(prog_name="ticketbridge")
