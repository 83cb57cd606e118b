"""The flagship fit, shipped with sim315 as package data (``sim315.data.calibration``) because the
packaged scenarios draw from its posterior sample and start from its history."""
