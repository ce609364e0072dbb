"""Innovate: live innovation challenges for employees and invited experts."""

__version__ = "0.1.0"
