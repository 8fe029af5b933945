"""The workbook: the layout contract, writing, protecting and reading .xlsx packages."""
