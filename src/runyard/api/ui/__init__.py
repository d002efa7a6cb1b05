"""Runyard's own web UI on the server side: the built pages (`pages`) and the JSON only the UI asks
for (metric charts' downsampled series)."""
