"""Waiting-time feeds: adapters that parse, pollers that fetch, and the simulator."""
