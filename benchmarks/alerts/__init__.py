"""Domain benchmark for the alert service's negative-spike monitor on synthetic traffic."""
