"""`vton data scrape`: a polite, resumable crawler that turns product pages into person/garment pairs.

site.py (config) -> fetch.py (politeness, safety) -> extract.py (listing and product pages) ->
state.py (resumable crawl state) -> classify.py (person vs garment-only) -> pairing.py -> output.py.
"""
