"""`make images`: build every container image with podman/buildah and prove each one runs."""
