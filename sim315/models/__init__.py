"""Models shipped with sim315 (package data): ``plan315.yaml``, the Jiaxing "315" plan.
Scenarios name them by file stem: ``model: plan315``."""
