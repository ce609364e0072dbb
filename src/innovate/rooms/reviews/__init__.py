"""Expert evaluation: criteria, reviewers, assignments, scorecards and their results."""
