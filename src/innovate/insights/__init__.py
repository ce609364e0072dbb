"""HR insights: participation figures, charts, the results report, exports and interests."""
