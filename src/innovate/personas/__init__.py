"""Personas: HR's portraits of interests (a name, a picture, tags, recommended communities and
challenges) that employees follow, and the HR people (curators) who look after them."""
