"""Providers: the only code that talks to a cloud; one package per cloud (alibaba/)."""
