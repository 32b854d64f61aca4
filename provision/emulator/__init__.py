"""A local emulator of the Alibaba Cloud APIs provision uses, spoken to by the official SDKs over HTTP.

RAM, STS, Model Studio 2026-02-10, Bailian data API (membership probe), PrivateLink, VPC and the
DashScope data plane, with ACS3-HMAC-SHA256 signature checks. See docs/emulator.md.
This package never imports the provisioner's core.
"""
