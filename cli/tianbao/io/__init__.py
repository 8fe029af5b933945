"""Files in and out: atomic writes, the input collector, tables, rosters, safe names."""
