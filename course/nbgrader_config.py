"""nbgrader's settings for the book's assignments (``tools/grade.py`` and ``make assignments`` use them)."""

c = get_config()  # noqa: F821 - nbgrader defines it when it reads this file

c.CourseDirectory.course_id = "vmp-book"
c.CourseDirectory.source_directory = "source"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"
c.Execute.timeout = 600  # a study re-runs one fine-tuning; a slow laptop needs minutes
c.Execute.interrupt_on_timeout = True
