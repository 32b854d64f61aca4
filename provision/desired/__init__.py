"""The desired model: resource kinds (kinds.py) and each cloud's specs (resources.py, huawei.py), live
resources (live.py), Desired (model.py), built from a Manifest (build.py). Pure."""
