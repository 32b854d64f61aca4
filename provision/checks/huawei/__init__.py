"""Huawei Cloud checks after apply: verify (``verify.py``: the delivered AK/SKs, Pangu V1 and V2, a refused
deployment, the agent-run stream, each through the VPC endpoints), the smoke calls they make
(``smoke.py``, shared with revoke) and the revoke proofs (``proofs.py``). The result types are the Alibaba
checks' own (``CheckResult``/``VerifyReport``, ``Proof``, ``Credential``, ``Reply``), so the CLI renders
both clouds alike. Each module's docstring gives the interface the ``huawei`` branch calls.
"""
