"""Role-based access control: the rbac.policy and organizations' custom roles endpoints, and
the Member a request acts as (`service.member_actor`). The policy model and its evaluation
are in core/policy.py, the stored policy in core/policy_store.py, the checks in core/authz.py.
"""
