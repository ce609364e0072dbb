"""HR pulses: a short message to all employees, to the followers of chosen personas or to
chosen communities, with an optional question whose answers can be anonymous."""
