"""Published reports: read them back (`read`) and write them (`publish`)."""
