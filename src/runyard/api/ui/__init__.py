"""Runyard's own web UI on the server side: the built pages (`pages`), the page's session (`session`)
and the JSON only the UI asks for (`charts`: metric charts' downsampled series)."""
