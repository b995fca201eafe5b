"""Builders that turn domain data into files. They write to a path they are given."""
