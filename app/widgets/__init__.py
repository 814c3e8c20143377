"""Reusable widgets: plots, gauges, banners and dialogs shared by the tabs."""
