"""Cryptography for identity and secrets: password hashing, secret encryption, tokens.

Kept apart from ``realnet.core`` (standard library only) and handed to the context
by the composition root.
"""
