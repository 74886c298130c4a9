"""Community service requests: catalogue, lifecycle, SLA clocks, the desk's queue and the public lookup."""
