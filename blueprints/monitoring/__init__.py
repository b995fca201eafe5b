"""Monitoring points: saved from any list page, listed on /monitoring, counted on the navigation."""
