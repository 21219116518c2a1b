"""Proxies: classes that wrap external APIs behind documented endpoints."""
