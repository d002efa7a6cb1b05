"""Runyard's own web UI on the server side: the built pages (`pages`), who is signed in (`session`)
and the JSON only the UI asks for (`charts`: metric series downsampled for charts)."""
