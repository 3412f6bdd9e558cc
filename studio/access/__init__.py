"""Who may do what: accounts with roles, password and PIN hashes, the one access rule.

``users.user_list(project_root)`` finds the accounts, ``UserList.sign_in``
checks a password or PIN, ``roles.require(role, user)`` raises
``AccessDenied`` naming the missing role. Low layer: core and audit only.
"""
from studio.access.roles import ROLES, AccessDenied, holds, require
from studio.access.users import User, UserList, config_dir, open_user, user_list

__all__ = ["ROLES", "AccessDenied", "holds", "require", "User", "UserList", "config_dir", "open_user", "user_list"]
