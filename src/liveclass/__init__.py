"""liveclass: a self-hosted live-class service for learning platforms."""

__version__ = "0.1.0"
