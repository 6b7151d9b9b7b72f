"""WaitLess: rank urgent-care sites by total time to treatment."""

__version__ = "0.1.0"
