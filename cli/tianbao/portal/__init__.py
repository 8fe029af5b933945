"""The collection portal (`tianbao serve`): units upload their workbooks and see the findings
at once, the clerk follows and decides the year's collection in a browser.

`access` (unit links, the clerk's password) is plain Python and used by the command line;
`app` (Starlette, Jinja2) and `desk` (uploads through the import pipeline) are imported only
by `tianbao serve`, so no other command loads a web framework.
"""
