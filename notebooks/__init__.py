"""The Voila apps, shipped as package data."""
