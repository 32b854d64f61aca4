"""What every cloud's providers share, free of any cloud SDK: call outcomes and the rule-table machinery
(``outcomes.py``), retry and poll policies with the retry loop (``policies.py``), pagers (``pagers.py``),
ownership markers and the one ``Owner`` rule (``markers.py``), and delete steps (``delete_steps.py``).

Each cloud keeps its own table of error codes, its SDK clients and its wire formats in its own package
(``providers/alibaba``, ``providers/huawei``); this package imports neither (tests/test_architecture.py).
"""
