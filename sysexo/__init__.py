"""EXO engine: synthetic series from futures and options positions (see docs/exo.md).

Layer: may import sysobjects, syscore, sysdata interfaces, sysbrokers interface and systems.
"""
