"""Test support: real services and servers the tests start on loopback."""
