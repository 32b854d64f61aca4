"""Huawei Cloud checks after apply: ``provision verify`` (``verify_manifest.py`` turns the manifest and the
sink into the checks of ``verify.py``: the delivered AK/SKs, Pangu V1 and V2, a refused deployment, the
agent-run stream, each through the VPC endpoints), the smoke calls they make (``smoke.py``, shared with
revoke), and ``provision revoke`` (``revoke.py``) with its proofs (``proofs.py``). The result types are the
Alibaba checks' own (``CheckResult``/``VerifyReport``, ``Proof``, ``Credential``, ``Reply``), so the CLI
renders both clouds alike.
"""
