"""The Mesa model: ``model.py`` reads as the daily schedule; one module per process."""
