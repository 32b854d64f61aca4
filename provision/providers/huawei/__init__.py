"""Huawei Cloud (ModelArts Studio / Pangu): the only code that talks to Huawei Cloud.

``clients.py``: the target, credentials, SDK clients, signed REST calls, one error type, paging.
``read.py``: the one reader of Huawei facts (typed, frozen).
"""
