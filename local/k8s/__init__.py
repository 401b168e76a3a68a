"""A real Kubernetes control plane on this machine, with kwok's fake nodes (`make k8s-test`)."""
