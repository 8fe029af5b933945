"""The form definition: spec models, the query object `Form`, loading and cross-checking."""
