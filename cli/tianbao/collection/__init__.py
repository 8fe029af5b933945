"""The year's collection as one tracked workflow.

A collection folder (`tianbao init`) holds the workbooks sent out, the files returned,
the imported report JSON (every version), the return workbooks, the merge outputs and a
SQLite ledger of events and reviewer decisions. The report JSON files stay the source of
truth for data; the ledger can be rebuilt from them (`tianbao status --rebuild`).
"""
