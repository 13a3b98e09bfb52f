"""Browser-side ES modules and CSS of the widgets, shipped as package data."""
