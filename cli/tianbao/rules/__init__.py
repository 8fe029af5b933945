"""The rule engine: evaluation on the report model and Excel formula compilation."""
