"""Think tanks: registration and approval, memberships of experts and managers, invitations."""
