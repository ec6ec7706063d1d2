"""The book's support, not the library: figures and schematics, glued numbers and tables, the
error analysis of chapter 7, the playground's constants, the Sphinx extension and the syllabus."""
