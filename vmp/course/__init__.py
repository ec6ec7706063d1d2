"""The course's checks: the exercises' self-checks in the chapters and the graded assignments'."""
