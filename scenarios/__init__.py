"""The scenarios, shipped with sim315 as package data (``sim315.data.scenarios``): ``sim315 run
plan`` runs ``plan.yaml`` from any folder. See :mod:`sim315.core.packaged`."""
