"""Administering the cluster: the parties' grants (ACLs), their credentials, the provisioning."""
