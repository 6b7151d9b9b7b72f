"""Travel times to sites: the road-graph tables and the labelled straight-line estimate."""
