"""SCIM 2.0 provisioning (RFC 7643, 7644): directories such as Entra ID, Okta or Google create,
update and deactivate employees at ``/scim/v2``, with a bearer token an administrator made."""
