"""Training and evaluation of the models the services serve; never imported by a service."""
