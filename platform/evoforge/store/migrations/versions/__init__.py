"""Revision scripts, one per schema change, named `NNNN_slug.py` with revision "NNNN".

This file only makes the folder a package so wheels ship the scripts; Alembic skips it.
"""
