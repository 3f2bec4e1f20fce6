"""Routers, one per noun; each only parses, calls one service and serialises."""
