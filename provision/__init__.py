"""provision: access-as-code for Alibaba Cloud Model Studio (Bailian)."""

__version__ = "0.1.0"
