"""Carriers: waybills for orders going out, and what the carriers tell us back."""
