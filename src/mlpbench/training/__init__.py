"""Pieces every engine shares so that the same seed gives the same run: init, batch order, schedule."""
