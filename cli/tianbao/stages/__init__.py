"""The stages a command runs: distribute, intake, batch, annotate, merge, summary."""
