"""The desired model: resource kinds and specs (resources.py), built from a Manifest (build.py). Pure."""
