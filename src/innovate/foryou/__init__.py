""""For you": what the personas a person follows and the interests they follow recommend,
each entry with the reasons it is there."""
