"""Proposers turn a parent (plus context) into a child artifact."""
