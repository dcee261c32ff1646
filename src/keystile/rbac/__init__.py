"""Role-based access control: the project's policy, its evaluation, and acting as a Member.

Kept import-light (config.py imports `keystile.rbac.policy`).
"""
